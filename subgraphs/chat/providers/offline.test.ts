import { OfflineProvider, offlineReply, splitIntoWords } from './offline';
import type { ProviderChunk, ProviderRequest } from './provider';

const request: ProviderRequest = {
  model: 'offline-echo (not a language model)',
  system: 'Be helpful.',
  messages: [
    { role: 'user', content: 'What is the capital of France?' },
    { role: 'assistant', content: 'Paris.' },
    { role: 'user', content: 'And   of Italy?' },
  ],
  maxOutputTokens: 100,
  temperature: 0,
};

async function collect(provider: OfflineProvider, signal = new AbortController().signal) {
  const chunks: ProviderChunk[] = [];
  for await (const chunk of provider.stream(request, signal)) chunks.push(chunk);
  return chunks;
}

describe('the offline provider', () => {
  it('says plainly that it is not a language model, and builds its reply from the request', () => {
    const reply = offlineReply(request);
    expect(reply).toContain('not a language model');
    expect(reply).toContain('You wrote 3 words: “And of Italy?”');
    expect(reply).toContain('This conversation had 2 earlier messages before it.');
  });

  it('streams the same reply word by word every time, with no made-up token counts', async () => {
    const provider = new OfflineProvider({ tokenIntervalMs: 0 });
    const first = await collect(provider);
    const second = await collect(provider);
    expect(second).toEqual(first);
    expect(first).toEqual(splitIntoWords(offlineReply(request)).map((text) => ({ kind: 'text', text })));
  });

  it('sends its first word at once and paces the rest', async () => {
    const provider = new OfflineProvider({ tokenIntervalMs: 60_000 });
    const controller = new AbortController();
    const chunks = provider.stream(request, controller.signal)[Symbol.asyncIterator]();
    const startedAt = performance.now();
    const first = await chunks.next();
    expect(performance.now() - startedAt).toBeLessThan(1_000);
    expect(first.value).toEqual({ kind: 'text', text: splitIntoWords(offlineReply(request))[0] });
    const second = chunks.next();
    controller.abort(new Error('stop'));
    await expect(second).rejects.toThrow('stop');
  });

  it('stops at once when aborted', async () => {
    const provider = new OfflineProvider({ tokenIntervalMs: 60_000 });
    const controller = new AbortController();
    const reason = new Error('stop');
    const streaming = collect(provider, controller.signal);
    controller.abort(reason);
    await expect(streaming).rejects.toBe(reason);
  });
});
