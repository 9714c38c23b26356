import type { ProviderName } from '../config';
import type { ChatProvider, ProviderChunk, ProviderRequest } from '../providers/provider';
import { AsyncQueue } from '../streams/async-queue';

/**
 * A provider the test drives chunk by chunk: each `stream` call takes the next script, which the
 * test feeds with `text`, ends with `finish` or breaks with `fail`. Aborting rejects like a real
 * SDK would, with the signal's reason.
 */
export class ScriptedProvider implements ChatProvider {
  readonly name: ProviderName = 'openai-compatible';
  readonly requests: ProviderRequest[] = [];
  private readonly scripts: AsyncQueue<ProviderChunk>[] = [];
  private readonly started: ((script: AsyncQueue<ProviderChunk>) => void)[] = [];

  /** Resolves with the next stream's controls once the pipeline has called the provider. */
  nextStream(): Promise<StreamControls> {
    return new Promise((resolve) => {
      this.started.push((script) =>
        resolve({
          text: (text) => script.push({ kind: 'text', text }),
          finish: (usage) => {
            if (usage) script.push({ kind: 'usage', ...usage });
            script.end();
          },
          fail: (error) => script.fail(error),
        }),
      );
      this.flush();
    });
  }

  async *stream(request: ProviderRequest, signal: AbortSignal): AsyncIterable<ProviderChunk> {
    this.requests.push(request);
    const script = new AsyncQueue<ProviderChunk>();
    this.scripts.push(script);
    this.flush();
    const aborted = new Promise<never>((_, reject) => {
      const onAbort = () => reject(signal.reason);
      if (signal.aborted) onAbort();
      else signal.addEventListener('abort', onAbort, { once: true });
    });
    aborted.catch(() => undefined);
    for (;;) {
      const next = await Promise.race([script.next(), aborted]);
      if (next.done) return;
      yield next.value;
    }
  }

  async complete(): Promise<string> {
    return 'A scripted title';
  }

  private flush(): void {
    while (this.scripts.length > 0 && this.started.length > 0) {
      (this.started.shift() as (script: AsyncQueue<ProviderChunk>) => void)(
        this.scripts.shift() as AsyncQueue<ProviderChunk>,
      );
    }
  }
}

export interface StreamControls {
  text: (text: string) => void;
  finish: (usage?: { promptTokens: number; completionTokens: number }) => void;
  fail: (error: unknown) => void;
}
