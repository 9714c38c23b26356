import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { RUN_LOG_DIR_VARIABLE, teeToRunLog } from '../../../common/testing/run-log';

export interface ChatChild {
  url: string;
  process: ChildProcess;
  /** Kills it the way a crash would: no shutdown, no cleanup. */
  crash: () => Promise<void>;
}

/**
 * Starts a chat subgraph in a separate Node process, from source, with this environment. In a
 * jest run it logs everything to the run log, which the end-of-run scan reads.
 */
export async function startChatChild(env: Record<string, string>): Promise<ChatChild> {
  const logLevel = process.env[RUN_LOG_DIR_VARIABLE] ? { LOG_LEVEL: 'debug' } : {};
  const child = spawn(
    process.execPath,
    ['-r', join(__dirname, '../../../common/testing/swc-register.js'), join(__dirname, 'chat-process.ts')],
    { env: { ...process.env, ...env, ...logLevel }, stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
  const exited = once(child, 'exit').then(([code]) => {
    throw new Error(`chat child exited with ${String(code)} before it was ready`);
  });
  const [line] = (await Promise.race([once(lines, 'line'), exited])) as [string];
  lines.close();
  teeToRunLog(child.stdout, 'chat-child');
  const { url } = JSON.parse(line) as { url: string };
  return {
    url,
    process: child,
    crash: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exit = once(child, 'exit');
      child.kill('SIGKILL');
      await exit;
    },
  };
}
