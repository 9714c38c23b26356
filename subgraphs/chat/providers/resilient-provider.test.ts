import { silentLogger } from '../../../common/testing/logger';
import type { ChatProvider, ProviderChunk, ProviderRequest } from './provider';
import { ResilientProvider } from './resilient-provider';

const request: ProviderRequest = {
  model: 'any',
  system: '',
  messages: [{ role: 'user', content: 'Hello' }],
  maxOutputTokens: 16,
  temperature: 0.5,
};

/** A provider that records the signal each attempt was given, and streams `words` or completes as told. */
function scriptedProvider(words: string[], completion: () => Promise<string>) {
  const signals: AbortSignal[] = [];
  let returned = 0;
  const provider: ChatProvider = {
    name: 'offline',
    async *stream(_request, signal) {
      signals.push(signal);
      try {
        for (const text of words) {
          // As the SDKs do: an aborted request ends the stream with the abort's reason.
          if (signal.aborted) throw signal.reason;
          yield { kind: 'text', text } satisfies ProviderChunk;
        }
        yield { kind: 'finish', reason: 'stop' } satisfies ProviderChunk;
      } finally {
        returned += 1;
      }
    },
    complete(_request, signal) {
      signals.push(signal);
      return completion();
    },
  };
  return { provider, signals, returned: () => returned };
}

const resilient = (inner: ChatProvider, firstTokenTimeoutMs = 1_000) =>
  new ResilientProvider(inner, {
    maxRetries: 0,
    retryBaseMs: 1,
    firstTokenTimeoutMs,
    idleTimeoutMs: 1_000,
    logger: silentLogger(),
  });

describe('an attempt of the resilient provider', () => {
  it('is left alone once its reply has ended: nothing is aborted after the last chunk', async () => {
    const scripted = scriptedProvider(['Hello', ' there'], () => Promise.resolve(''));
    const chunks: ProviderChunk[] = [];
    for await (const chunk of resilient(scripted.provider).stream(request, new AbortController().signal)) {
      chunks.push(chunk);
    }
    expect(chunks.map((chunk) => chunk.kind)).toEqual(['text', 'text', 'finish']);
    expect(scripted.signals).toHaveLength(1);
    expect(scripted.signals[0].aborted).toBe(false);
  });

  it('is aborted, and its provider’s cleanup run, when the consumer stops reading before the end', async () => {
    const scripted = scriptedProvider(['one', 'two', 'three'], () => Promise.resolve(''));
    for await (const chunk of resilient(scripted.provider).stream(request, new AbortController().signal)) {
      if (chunk.kind === 'text') break;
    }
    expect(scripted.signals[0].aborted).toBe(true);
    expect(scripted.returned()).toBe(1);
  });

  it('is aborted with the caller’s reason when the caller aborts', async () => {
    const scripted = scriptedProvider(['one', 'two', 'three'], () => Promise.resolve(''));
    const caller = new AbortController();
    const reason = new Error('stopped');
    await expect(
      (async () => {
        for await (const _chunk of resilient(scripted.provider).stream(request, caller.signal))
          caller.abort(reason);
      })(),
    ).rejects.toBe(reason);
    expect(scripted.signals[0].reason).toBe(reason);
  });

  it('is left alone once a completion has answered, and aborted when it outlasts the timeout', async () => {
    const answered = scriptedProvider([], () => Promise.resolve('A title'));
    await expect(resilient(answered.provider).complete(request, new AbortController().signal)).resolves.toBe(
      'A title',
    );
    expect(answered.signals[0].aborted).toBe(false);

    const silent = scriptedProvider([], () => new Promise<string>(() => undefined));
    await expect(
      resilient(silent.provider, 20).complete(request, new AbortController().signal),
    ).rejects.toMatchObject({
      failure: 'timeout',
    });
    expect(silent.signals[0].aborted).toBe(true);
    expect(silent.signals[0].reason).toMatchObject({ failure: 'timeout' });
  });
});
