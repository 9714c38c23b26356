import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createInterface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import { stopProcess } from './processes';

export interface ServiceSpec {
  name: string;
  /** The Node entry point, e.g. dist/gateway/main.js. */
  script: string;
  env: NodeJS.ProcessEnv;
  /** Node options before the script, e.g. `-r` a hook that compiles TypeScript as it loads. */
  execArgv?: string[];
}

export interface SupervisorOptions {
  stdout?: Writable;
  stderr?: Writable;
  /** Colour the `[name]` prefixes; by default when stdout is a terminal and NO_COLOR is unset. */
  colours?: boolean;
  /** How long a service may take to exit after SIGTERM before it gets SIGKILL. */
  stopTimeoutMs?: number;
}

// Cyan, magenta, yellow, green, blue: one per service, in start order.
const COLOURS = [36, 35, 33, 32, 34];

interface Running {
  child: ChildProcess;
  /** Resolves once the child has exited and its output has all been relayed. */
  closed: Promise<void>;
}

/**
 * Runs Node services as child processes, each output line prefixed with `[name]`. It restarts
 * nothing: a service that exits is reported, and stays down.
 */
export class Supervisor {
  private readonly services: Running[] = [];
  private stopping = false;
  private readonly stdout: Writable;
  private readonly stderr: Writable;
  private readonly colours: boolean;
  private readonly stopTimeoutMs: number;

  constructor(options: SupervisorOptions = {}) {
    this.stdout = options.stdout ?? process.stdout;
    this.stderr = options.stderr ?? process.stderr;
    this.colours = options.colours ?? (process.stdout.isTTY === true && !process.env.NO_COLOR);
    this.stopTimeoutMs = options.stopTimeoutMs ?? 10_000;
  }

  /** Starts a service; the child is returned so a caller can watch it (e.g. give up waiting when it exits). */
  start({ name, script, env, execArgv = [] }: ServiceSpec): ChildProcess {
    // A start that was under way when the stop came must not leave a service behind.
    if (this.stopping) throw new Error(`${name}: not started, the services are being stopped`);
    if (!existsSync(script)) {
      throw new Error(`${name}: ${script} does not exist; build first (npm run build)`);
    }
    const prefix = this.prefix(name, this.services.length);
    // Its own process group, so a terminal's Ctrl-C reaches start.ts alone, which stops services in order.
    const child = spawn(process.execPath, [...execArgv, script], {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    this.relay(child.stdout, this.stdout, prefix);
    this.relay(child.stderr, this.stderr, prefix);
    child.on('error', (error) => this.stderr.write(`${prefix} could not be started: ${error.message}\n`));
    // 'close' comes after the last output line, so the report is the service's last word.
    const closed = new Promise<void>((resolve) =>
      child.on('close', (code, signal) => {
        const how = signal ? `was killed by ${signal}` : `exited with code ${code}`;
        this.stderr.write(`${prefix} ${how}${this.stopping ? '' : ' (not restarted)'}\n`);
        resolve();
      }),
    );
    this.services.push({ child, closed });
    return child;
  }

  /** SIGTERM to each service, the last started first, waiting for each to exit (SIGKILL after the timeout). */
  async stopAll(): Promise<void> {
    this.stopping = true;
    for (const { child } of [...this.services].reverse()) {
      await stopProcess(child, { signal: 'SIGTERM', timeoutMs: this.stopTimeoutMs });
    }
    await Promise.all(this.services.map(({ closed }) => closed));
  }

  private prefix(name: string, index: number): string {
    const label = `[${name}]`;
    return this.colours ? `\x1b[${COLOURS[index % COLOURS.length]}m${label}\x1b[0m` : label;
  }

  private relay(input: Readable | null, output: Writable, prefix: string): void {
    if (!input) return;
    createInterface({ input, crlfDelay: Infinity }).on('line', (line) => output.write(`${prefix} ${line}\n`));
  }
}
