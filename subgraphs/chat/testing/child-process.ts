import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

export interface ChatChild {
  url: string;
  process: ChildProcess;
  /** Kills it the way a crash would: no shutdown, no cleanup. */
  crash: () => Promise<void>;
}

/** Starts a chat subgraph in a separate Node process, from source, with this environment. */
export async function startChatChild(env: Record<string, string>): Promise<ChatChild> {
  const child = spawn(
    process.execPath,
    ['-r', join(__dirname, '../../../common/testing/swc-register.js'), join(__dirname, 'chat-process.ts')],
    { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
  const exited = once(child, 'exit').then(([code]) => {
    throw new Error(`chat child exited with ${String(code)} before it was ready`);
  });
  const [line] = (await Promise.race([once(lines, 'line'), exited])) as [string];
  lines.close();
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
