import { createInterface, type Interface } from 'node:readline';
import { Writable } from 'node:stream';

/** Thrown by `ask` once the input has ended (Ctrl-D, or a closed pipe). */
export class InputClosedError extends Error {
  override name = 'InputClosedError';
  constructor() {
    super('The input ended');
  }
}

/**
 * Line input and output for the chat: questions, hidden ones for passwords (on a terminal),
 * text written as it streams, and Ctrl-C reported to one handler whether it arrives through
 * a terminal in raw mode (readline's SIGINT) or as a signal (a pipe, `kill -INT`).
 */
export class Terminal {
  private readonly readline: Interface;
  private muted = false;
  /** Lines typed (or piped) before they were asked for: answers given ahead are kept, not lost. */
  private readonly typedAhead: string[] = [];
  private waiting: { resolve: (line: string) => void; reject: (error: Error) => void } | undefined;
  private ended = false;

  constructor(
    private readonly input: NodeJS.ReadableStream & { isTTY?: boolean },
    private readonly output: NodeJS.WritableStream,
  ) {
    // Readline echoes what is typed through this stream; muting it hides a password.
    const echo = new Writable({
      write: (chunk: Buffer, _encoding, done) => {
        if (!this.muted) output.write(chunk);
        done();
      },
    });
    this.readline = createInterface({ input, output: echo, terminal: input.isTTY === true });
    this.readline.on('line', (line) => {
      const waiting = this.waiting;
      this.waiting = undefined;
      if (waiting) waiting.resolve(line);
      else this.typedAhead.push(line);
    });
    this.readline.once('close', () => {
      this.ended = true;
      this.waiting?.reject(new InputClosedError());
      this.waiting = undefined;
    });
  }

  /** Calls `handler` on every Ctrl-C until the returned function is called. */
  onInterrupt(handler: () => void): () => void {
    this.readline.on('SIGINT', handler);
    process.on('SIGINT', handler);
    return () => {
      this.readline.off('SIGINT', handler);
      process.off('SIGINT', handler);
    };
  }

  /** Shows `question` as the prompt and resolves with the next line. */
  ask(question: string): Promise<string> {
    this.readline.setPrompt(question);
    this.readline.prompt();
    const typed = this.typedAhead.shift();
    if (typed !== undefined) return Promise.resolve(typed);
    if (this.ended) return Promise.reject(new InputClosedError());
    return new Promise((resolve, reject) => (this.waiting = { resolve, reject }));
  }

  /** Asks without echoing the answer when the input is a terminal. */
  async askHidden(question: string): Promise<string> {
    this.output.write(question);
    this.muted = true;
    try {
      return await this.ask('');
    } finally {
      this.muted = false;
      if (this.input.isTTY) this.output.write('\n');
    }
  }

  write(text: string): void {
    this.output.write(text);
  }

  print(line = ''): void {
    this.output.write(`${line}\n`);
  }

  close(): void {
    this.readline.close();
  }
}
