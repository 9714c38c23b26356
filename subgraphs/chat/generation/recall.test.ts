import { randomUUID } from 'node:crypto';
import { captureLogs } from '../../../common/testing/logger';
import type { RecallHit } from '../records/message.record';
import { userCaller } from '../testing/chat-config';
import { Recall } from './recall';

const hit = (content: string): RecallHit => ({
  score: 0.9,
  message: {
    id: randomUUID(),
    role: 'USER',
    content,
    conversation: { id: randomUUID(), title: 'Elsewhere' },
  },
});

/** A search each call of which answers only when the test says so. */
function pendingSearches() {
  const answers: ((hits: RecallHit[]) => void)[] = [];
  let asked = 0;
  return {
    conversations: {
      recallMessages: () => {
        asked += 1;
        return new Promise<RecallHit[]>((resolve) => answers.push(resolve));
      },
    },
    asked: () => asked,
    answer: (i: number, hits: RecallHit[]) => answers[i](hits),
  };
}

describe('recall', () => {
  const caller = userCaller(randomUUID());

  it('writes a turn without recall while as many searches as allowed are in flight, and recalls again once one ends', async () => {
    const searches = pendingSearches();
    const { logger, lines } = captureLogs();
    const recall = new Recall({ ...searches, limit: 3, timeoutMs: 10_000, maxInFlight: 2, logger });

    const first = recall.start(caller, 'sourdough', null);
    const second = recall.start(caller, 'rye', null);
    // Both taken: the third turn neither asks nor waits.
    await expect(recall.start(caller, 'spelt', null)).resolves.toEqual([]);
    expect(searches.asked()).toBe(2);
    expect(lines().some((line) => line.includes('recall skipped'))).toBe(true);

    const found = [hit('My sourdough starter is called Bob')];
    searches.answer(0, found);
    await expect(first).resolves.toEqual(found);
    const fourth = recall.start(caller, 'spelt', null);
    expect(searches.asked()).toBe(3);
    searches.answer(1, []);
    searches.answer(2, found);
    await expect(second).resolves.toEqual([]);
    await expect(fourth).resolves.toEqual(found);
  });

  it('counts a search the reply stopped waiting for until the search itself ends', async () => {
    const searches = pendingSearches();
    const recall = new Recall({
      ...searches,
      limit: 3,
      timeoutMs: 10,
      maxInFlight: 1,
      logger: captureLogs().logger,
    });

    // The reply goes on without it after 10 ms, but the search is still running.
    await expect(recall.start(caller, 'sourdough', null)).resolves.toEqual([]);
    await expect(recall.start(caller, 'rye', null)).resolves.toEqual([]);
    expect(searches.asked()).toBe(1);

    searches.answer(0, []);
    await new Promise((resolve) => setImmediate(resolve));
    void recall.start(caller, 'rye', null);
    expect(searches.asked()).toBe(2);
    searches.answer(1, []);
  });

  it("gives a turn's write its recall's limit and budget while a search is free, and none while all are taken until a write answers", async () => {
    const searches = pendingSearches();
    const recall = new Recall({
      ...searches,
      limit: 3,
      timeoutMs: 250,
      maxInFlight: 1,
      logger: captureLogs().logger,
    });
    let answerWrite!: () => void;
    const asked: unknown[] = [];
    const firstWrite = recall.within((request) => {
      asked.push(request);
      return new Promise<void>((resolve) => (answerWrite = resolve));
    });
    // The one slot is the first write's until it answers: the second is written without recall,
    // and a regenerated reply's search of its own is not started either.
    await recall.within(async (request) => void asked.push(request));
    await expect(recall.start(caller, 'rye', null)).resolves.toEqual([]);
    expect(searches.asked()).toBe(0);
    answerWrite();
    await firstWrite;
    await recall.within(async (request) => void asked.push(request));
    expect(asked).toEqual([{ first: 3, budgetMs: 250 }, null, { first: 3, budgetMs: 250 }]);
  });

  it('frees the slot of a write that failed', async () => {
    const recall = new Recall({
      ...pendingSearches(),
      limit: 3,
      timeoutMs: 250,
      maxInFlight: 1,
      logger: captureLogs().logger,
    });
    await expect(recall.within(() => Promise.reject(new Error('the write failed')))).rejects.toThrow(
      'the write failed',
    );
    await expect(recall.within(async (request) => request)).resolves.toEqual({ first: 3, budgetMs: 250 });
  });
});
