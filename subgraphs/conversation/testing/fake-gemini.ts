import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface EmbedRequestSeen {
  path: string;
  apiKey: string | undefined;
  taskTypes: string[];
  texts: string[];
}

export interface FakeGemini {
  baseUrl: string;
  requests: EmbedRequestSeen[];
  close: () => Promise<void>;
}

/** A deterministic stand-in for an embedding: each word adds to a few hashed dimensions. */
function bagOfWords(text: string, dimensions: number): number[] {
  const vector = new Array<number>(dimensions).fill(0);
  for (const word of text.toLowerCase().match(/[a-z0-9]+/g) ?? []) {
    const digest = createHash('sha256').update(word).digest();
    for (let i = 0; i < 4; i++) vector[digest.readUInt16BE(i * 2) % dimensions] += 1;
  }
  return vector;
}

const readJson = async (request: IncomingMessage) => {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return JSON.parse(Buffer.concat(chunks).toString('utf8')) as {
    requests: { model: string; taskType?: string; content: { parts: { text: string }[] } }[];
  };
};

/**
 * A loopback server speaking Gemini's `:batchEmbedContents` wire format (REST, API key in the
 * `x-goog-api-key` header), so the real SDK can be tested with no network.
 */
export async function startFakeGemini(dimensions = 768): Promise<FakeGemini> {
  const requests: EmbedRequestSeen[] = [];
  const server: Server = createServer((request, response) => {
    const match = /^\/v1beta\/models\/([\w.-]+):batchEmbedContents$/.exec(request.url ?? '');
    if (request.method !== 'POST' || !match) {
      response.writeHead(404, { 'content-type': 'application/json' }).end('{"error":{"code":404}}');
      return;
    }
    readJson(request).then((body) => {
      requests.push({
        path: request.url ?? '',
        apiKey: request.headers['x-goog-api-key'] as string | undefined,
        taskTypes: body.requests.map((r) => r.taskType ?? ''),
        texts: body.requests.map((r) => r.content.parts.map((part) => part.text).join('')),
      });
      const embeddings = body.requests.map((r) => ({
        values: bagOfWords(r.content.parts.map((part) => part.text).join(' '), dimensions),
      }));
      response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ embeddings }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
