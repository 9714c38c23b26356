import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { openai } from '../../subgraphs/chat/testing/loopback-llm';

/** How a run's replies stream: `tokens` tokens each, one every `intervalMs`. */
export interface Pace {
  tokens: number;
  intervalMs: number;
}

/**
 * The times the tokens of a delta left the model: the same clock (this process's) the subscribers
 * read. Each token is its time and a space; chat joins the tokens that come while an event waits
 * for Redis into one event, so a delta may hold several.
 */
export const productionTimes = (delta: string): number[] =>
  delta
    .split(' ')
    .filter((token) => token !== '')
    .map(Number.parseFloat)
    .filter((time) => !Number.isNaN(time));

/**
 * A stand-in for an OpenAI-compatible model server on a loopback port (the chat subgraph runs
 * with LLM_PROVIDER=openai-compatible pointed at it), made for measuring streams:
 *
 * - Reply streams are held until `release`, so that the benchmark's N replies stream at once even
 *   though starting them (sendMessage: PostgreSQL writes) takes seconds; starts are then spread
 *   over one token interval, as independent users' would be.
 * - Each reply streams at the pace given to `release`, on a fixed schedule (lateness anywhere
 *   shows up as latency, as with a real model), and each token's text is the time it was sent,
 *   by this process's performance.now(): a subscriber here reads its latency off the delta.
 *
 * Title requests (no `stream`) are answered at once.
 */
export class PacedModel {
  private readonly held: ServerResponse[] = [];
  private readonly open = new Set<ServerResponse>();
  private readonly server = createServer((req, res) => this.handle(req, res));
  private onHeld: (() => void) | undefined;
  private port = 0;

  private constructor() {}

  static async start(): Promise<PacedModel> {
    const model = new PacedModel();
    await new Promise<void>((resolve) => model.server.listen(0, '127.0.0.1', resolve));
    model.port = (model.server.address() as AddressInfo).port;
    return model;
  }

  /** The base URL, for LLM_BASE_URL. */
  get url(): string {
    return `http://127.0.0.1:${this.port}/v1`;
  }

  /** Resolves once `count` reply streams are being held. */
  waitForStreams(count: number): Promise<void> {
    if (this.held.length >= count) return Promise.resolve();
    return new Promise((resolve) => {
      this.onHeld = () => {
        if (this.held.length < count) return;
        this.onHeld = undefined;
        resolve();
      };
    });
  }

  /** Starts every held stream, their first tokens spread over one interval. */
  release(pace: Pace): void {
    const streams = this.held.splice(0);
    const start = performance.now();
    streams.forEach((res, i) => this.play(res, pace, start + (i / streams.length) * pace.intervalMs));
  }

  async close(): Promise<void> {
    for (const res of this.open) res.destroy();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      // The chat subgraph's model catalog asks which models are served: LLM_MODEL's default.
      if (req.method === 'GET') {
        res.writeHead(200, { 'content-type': 'application/json' }).end(
          JSON.stringify({
            object: 'list',
            data: [{ id: 'llama3.1', object: 'model', created: 1, owned_by: 'bench' }],
          }),
        );
        return;
      }
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { stream?: boolean };
      if (!body.stream) {
        res.writeHead(200, { 'content-type': 'application/json' }).end(
          JSON.stringify({
            id: 'bench',
            object: 'chat.completion',
            created: 1,
            model: 'bench',
            choices: [
              { index: 0, message: { role: 'assistant', content: 'Benchmark' }, finish_reason: 'stop' },
            ],
          }),
        );
        return;
      }
      this.open.add(res);
      res.on('close', () => this.open.delete(res));
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
      this.held.push(res);
      this.onHeld?.();
    });
  }

  /** Token k (1-based) is due at `start + (k - 1) × interval`, whatever happened to the ones before. */
  private play(res: ServerResponse, { tokens, intervalMs }: Pace, start: number): void {
    const send = (data: string) => res.write(`data: ${data}\r\n\r\n`);
    let sent = 0;
    const tick = () => {
      if (res.destroyed) return;
      send(openai.text(`${performance.now().toFixed(3)} `));
      sent += 1;
      if (sent < tokens) {
        setTimeout(tick, Math.max(0, start + sent * intervalMs - performance.now()));
        return;
      }
      send(openai.finish());
      send(openai.usage(10, tokens));
      send(openai.done);
      res.end();
    };
    setTimeout(tick, Math.max(0, start - performance.now()));
  }
}
