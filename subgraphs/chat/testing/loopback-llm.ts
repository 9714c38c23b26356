import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** What the loopback server does with one request, in the provider's own wire format. */
export type Scenario =
  /** An SSE response: each `data` line in turn, `gapMs` apart; `drop` cuts the connection after them. */
  | { kind: 'sse'; events: string[]; firstDelayMs?: number; gapMs?: number; drop?: boolean }
  /** A plain JSON response with an HTTP status (an error, or a non-streamed completion). */
  | { kind: 'json'; status: number; body: unknown };

export interface RecordedRequest {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: unknown;
}

/** A model the server lists, in both wire formats (OpenAI's `GET /v1/models`, Gemini's `models.list`). */
export interface ListedModel {
  name: string;
  displayName?: string;
  inputTokenLimit?: number;
  outputTokenLimit?: number;
  /** Gemini's `maxTemperature`; left out when unset. */
  maxTemperature?: number;
  /** Gemini's `supportedGenerationMethods`; `generateContent` and `countTokens` when unset. */
  methods?: string[];
}

export interface LoopbackServer {
  /** The base URL (http://127.0.0.1:PORT). */
  url: string;
  /** Queues scenarios; each request takes the next one. */
  enqueue: (...scenarios: Scenario[]) => void;
  /** Generation requests (model listings are counted in `listings`, not here). */
  requests: RecordedRequest[];
  /** What `GET …/models` lists; nothing until set. */
  serveModels: (...models: (ListedModel | string)[]) => void;
  /** Model listings answered so far (the catalog's refreshes). */
  listings: RecordedRequest[];
  /** While down, every request is answered 503, as a provider that is briefly away. */
  setDown: (down: boolean) => void;
  close: () => Promise<void>;
}

/**
 * A stand-in for an LLM provider on a loopback port: the real SDK talks to it over HTTP and it
 * answers with queued scenarios in the provider's streaming wire format (SSE `data:` lines).
 */
export async function startLoopbackServer(): Promise<LoopbackServer> {
  const queue: Scenario[] = [];
  const requests: RecordedRequest[] = [];
  const open = new Set<ServerResponse>();
  let models: ListedModel[] = [];
  const listings: RecordedRequest[] = [];
  let down = false;

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      if (down) {
        res.writeHead(503, { 'content-type': 'application/json' }).end('{"error":{"message":"down"}}');
        return;
      }
      const path = new URL(req.url ?? '/', 'http://loopback').pathname;
      if (req.method === 'GET' && path.endsWith('/models')) {
        listings.push({ method: req.method, url: req.url ?? '', headers: req.headers, body: null });
        res
          .writeHead(200, { 'content-type': 'application/json' })
          .end(
            JSON.stringify(path.startsWith('/v1beta/') ? geminiModelList(models) : openaiModelList(models)),
          );
        return;
      }
      const text = Buffer.concat(chunks).toString('utf8');
      requests.push({
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        body: text ? JSON.parse(text) : null,
      });
      const scenario = queue.shift();
      if (!scenario) {
        res
          .writeHead(500, { 'content-type': 'application/json' })
          .end('{"error":{"message":"no scenario queued"}}');
        return;
      }
      open.add(res);
      res.on('close', () => open.delete(res));
      void play(scenario, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    enqueue: (...scenarios) => queue.push(...scenarios),
    requests,
    serveModels: (...listed) => {
      models = listed.map((model) => (typeof model === 'string' ? { name: model } : model));
    },
    listings,
    setDown: (value) => {
      down = value;
    },
    close: async () => {
      for (const res of open) res.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** OpenAI's `GET /v1/models` answer. */
const openaiModelList = (models: ListedModel[]) => ({
  object: 'list',
  data: models.map((model) => ({ id: model.name, object: 'model', created: 1, owned_by: 'loopback' })),
});

/** Gemini's `GET /v1beta/models` answer (one page). */
const geminiModelList = (models: ListedModel[]) => ({
  models: models.map((model) => ({
    name: `models/${model.name}`,
    version: '001',
    displayName: model.displayName ?? model.name,
    description: `${model.name} on the loopback server`,
    inputTokenLimit: model.inputTokenLimit ?? 1_048_576,
    outputTokenLimit: model.outputTokenLimit ?? 65_536,
    ...(model.maxTemperature === undefined ? {} : { maxTemperature: model.maxTemperature }),
    supportedGenerationMethods: model.methods ?? ['generateContent', 'countTokens'],
  })),
});

const DROP_DELAY_MS = 50;

async function play(scenario: Scenario, res: ServerResponse): Promise<void> {
  if (scenario.kind === 'json') {
    res.writeHead(scenario.status, { 'content-type': 'application/json' }).end(JSON.stringify(scenario.body));
    return;
  }
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
  const wait = (ms: number) =>
    new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        res.off('close', done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      res.once('close', done);
    });
  if (scenario.firstDelayMs) await wait(scenario.firstDelayMs);
  for (const [i, data] of scenario.events.entries()) {
    if (res.destroyed) return;
    if (i > 0 && scenario.gapMs) await wait(scenario.gapMs);
    if (res.destroyed) return;
    res.write(`data: ${data}\r\n\r\n`);
  }
  if (!scenario.drop) {
    res.end();
    return;
  }
  // Let the chunks reach the client first: the connection drops mid-reply, not before it.
  await wait(DROP_DELAY_MS);
  res.socket?.destroy();
}

/** Gemini `streamGenerateContent?alt=sse` chunks. */
export const gemini = {
  text: (text: string) =>
    JSON.stringify({ candidates: [{ content: { role: 'model', parts: [{ text }] }, index: 0 }] }),
  finish: (text: string, finishReason = 'STOP', usage = { promptTokenCount: 11, candidatesTokenCount: 7 }) =>
    JSON.stringify({
      candidates: [{ content: { role: 'model', parts: [{ text }] }, finishReason, index: 0 }],
      usageMetadata: { ...usage, totalTokenCount: usage.promptTokenCount + usage.candidatesTokenCount },
    }),
  promptBlocked: (blockReason = 'SAFETY') => JSON.stringify({ promptFeedback: { blockReason } }),
  error: (code: number, message: string) => ({
    error: { code, message, status: code === 429 ? 'RESOURCE_EXHAUSTED' : 'INTERNAL' },
  }),
};

/** OpenAI chat-completions SSE chunks (`stream_options.include_usage`: usage in a last, choice-less chunk). */
export const openai = {
  text: (content: string) =>
    JSON.stringify({
      id: 'c1',
      object: 'chat.completion.chunk',
      created: 1,
      model: 'm',
      choices: [{ index: 0, delta: { content }, finish_reason: null }],
    }),
  finish: (finishReason = 'stop') =>
    JSON.stringify({
      id: 'c1',
      object: 'chat.completion.chunk',
      created: 1,
      model: 'm',
      choices: [{ index: 0, delta: {}, finish_reason: finishReason }],
    }),
  usage: (prompt = 13, completion = 5) =>
    JSON.stringify({
      id: 'c1',
      object: 'chat.completion.chunk',
      created: 1,
      model: 'm',
      choices: [],
      usage: { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion },
    }),
  done: '[DONE]',
  error: (message: string) => ({ error: { message, type: 'server_error', code: null } }),
};
