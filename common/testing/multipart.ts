/** One part of Apollo's multipart subscription protocol, as a test reads it. */
export interface MultipartPart<Payload = unknown> {
  headers: string;
  json: { payload?: Payload | null; errors?: { message?: string; extensions?: Record<string, unknown> }[] };
}

/**
 * A raw `multipart/mixed; boundary="graphql"` body split on its boundary: each part's headers and
 * JSON, and whether the closing delimiter came (a stream cut short has none).
 */
export function multipartPartsOf<Payload = unknown>(
  body: string,
): { parts: MultipartPart<Payload>[]; closed: boolean } {
  const chunks = body.split('\r\n--graphql');
  const closed = chunks[chunks.length - 1].startsWith('--');
  const parts = chunks.slice(1, closed ? -1 : undefined).flatMap((chunk) => {
    const split = chunk.indexOf('\r\n\r\n');
    // The last chunk of a stream read before its end may be the opening of a part still to come.
    if (split < 0 || chunk.length === split + 4) return [];
    return [
      {
        headers: chunk.slice(0, split),
        json: JSON.parse(chunk.slice(split + 4)) as MultipartPart<Payload>['json'],
      },
    ];
  });
  return { parts, closed };
}

/** Whether a part is a heartbeat: `{}`, neither payload nor errors. */
export const isHeartbeat = (part: MultipartPart): boolean => Object.keys(part.json).length === 0;
