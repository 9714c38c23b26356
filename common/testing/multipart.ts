/** One part of Apollo's multipart subscription protocol, as a test reads it. */
export interface MultipartPart<Payload = unknown> {
  headers: string;
  json: { payload?: Payload | null; errors?: { message?: string; extensions?: Record<string, unknown> }[] };
}

const DELIMITER = '\r\n--graphql';

/**
 * A raw `multipart/mixed; boundary="graphql"` body split on its boundary: each whole part's headers
 * and JSON, and whether the closing delimiter came. A part is whole once the next delimiter follows
 * it, so what comes after the last one (the close, or a part still being written) is left out.
 */
export function multipartPartsOf<Payload = unknown>(
  body: string,
): { parts: MultipartPart<Payload>[]; closed: boolean } {
  const chunks = body.split(DELIMITER);
  const parts = chunks.slice(1, -1).map((chunk) => {
    const split = chunk.indexOf('\r\n\r\n');
    return {
      headers: chunk.slice(0, split),
      json: JSON.parse(chunk.slice(split + 4)) as MultipartPart<Payload>['json'],
    };
  });
  return { parts, closed: chunks.length > 1 && chunks[chunks.length - 1].startsWith('--') };
}

/** Whether a part is a heartbeat: `{}`, neither payload nor errors. */
export const isHeartbeat = (part: MultipartPart): boolean => Object.keys(part.json).length === 0;

/** A multipart response read part by part, as they arrive, the way a client that follows a stream reads it. */
export function multipartReader<Payload = unknown>(response: Response) {
  if (!response.body) throw new Error(`a multipart response has a body (status ${response.status})`);
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let text = '';
  let taken = 0;
  let ended = false;
  const next = async (): Promise<MultipartPart<Payload> | undefined> => {
    for (;;) {
      const { parts } = multipartPartsOf<Payload>(text);
      if (parts.length > taken) return parts[taken++];
      if (ended) return undefined;
      const read = await reader.read();
      if (read.done) ended = true;
      else text += decoder.decode(read.value, { stream: true });
    }
  };
  return {
    /** The next whole part; undefined once the body has ended. A cut connection rejects. */
    next,
    /** The next part that is not a heartbeat. */
    nextPayload: async () => {
      for (;;) {
        const part = await next();
        if (!part || !isHeartbeat(part)) return part;
      }
    },
    /** The parts still to come, to the end, and whether the stream closed with the final delimiter. */
    rest: async () => {
      const parts: MultipartPart<Payload>[] = [];
      for (let part = await next(); part; part = await next()) parts.push(part);
      return { parts, closed: multipartPartsOf(text).closed };
    },
    /** Stops reading and closes the connection, as a client that unsubscribes. */
    cancel: () => reader.cancel(),
  };
}
