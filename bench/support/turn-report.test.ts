import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Arrival } from './streams';
import { checkTokens, DOCS_BEGIN, DOCS_END, writeDocsSection } from './turn-report';
import type { TurnRecord } from './turns';

const SAVED = 'I am the offline responder. ';

/** A turn whose client received these events (seq, type, delta). */
function turn(conversationId: string, events: [number, string, string | null][]): TurnRecord {
  return {
    dueAt: 0,
    requestId: `request-${conversationId}`,
    conversationId,
    events: events.map(([seq, type, delta], i): Arrival => ({ seq, type, delta, at: i })),
    ended: 'complete',
  };
}

const whole = (conversationId: string) =>
  turn(conversationId, [
    [1, 'START', null],
    [2, 'TOKEN', 'I '],
    [3, 'TOKEN', 'am '],
    [4, 'TOKEN', 'the '],
    [5, 'TOKEN', 'offline '],
    [6, 'TOKEN', 'responder. '],
    [7, 'USAGE', null],
    [8, 'DONE', null],
  ]);

const saved = (...ids: string[]) => new Map(ids.map((id) => [id, [{ content: SAVED, status: 'COMPLETE' }]]));

describe('checkTokens', () => {
  it('finds nothing wrong when every saved token came, in order', () => {
    expect(checkTokens([whole('a'), whole('b')], saved('a', 'b'))).toEqual({
      received: 10,
      events: 10,
      saved: 10,
      lost: 0,
      reordered: 0,
      mismatched: 0,
    });
  });

  it('counts the tokens an event carries together, each as received', () => {
    const joined = turn('a', [
      [1, 'START', null],
      [2, 'TOKEN', 'I '],
      [3, 'TOKEN', 'am the offline '],
      [4, 'TOKEN', 'responder. '],
      [5, 'DONE', null],
    ]);
    expect(checkTokens([joined], saved('a'))).toEqual({
      received: 5,
      events: 3,
      saved: 5,
      lost: 0,
      reordered: 0,
      mismatched: 0,
    });
  });

  it('counts a token that never came as lost', () => {
    const gap = whole('a');
    gap.events.splice(3, 1);
    expect(checkTokens([gap], saved('a'))).toMatchObject({
      received: 4,
      lost: 1,
      reordered: 0,
      mismatched: 1,
    });
  });

  it('counts a token that came after a later one, or twice, as reordered, though none is lost', () => {
    const swapped = whole('a');
    [swapped.events[2], swapped.events[3]] = [swapped.events[3], swapped.events[2]];
    expect(checkTokens([swapped], saved('a'))).toMatchObject({ lost: 0, reordered: 1, mismatched: 1 });
    const repeated = whole('b');
    repeated.events.splice(2, 0, repeated.events[1]);
    expect(checkTokens([repeated], saved('b'))).toMatchObject({ lost: 0, reordered: 1, mismatched: 1 });
  });

  it("matches a conversation's turns with its newest replies, in the order the turns were due", () => {
    const earlier = { content: 'A reply from an earlier level. ', status: 'COMPLETE' };
    const second = { content: 'The second reply. ', status: 'COMPLETE' };
    const firstTurn = { ...whole('a'), dueAt: 10 };
    const secondTurn = {
      ...turn('a', [
        [1, 'START', null],
        [2, 'TOKEN', 'The second '],
        [3, 'TOKEN', 'reply. '],
        [4, 'DONE', null],
      ]),
      dueAt: 20,
    };
    const replies = new Map([['a', [earlier, { content: SAVED, status: 'COMPLETE' }, second]]]);
    // Given in either order: each turn is matched by when it was due.
    expect(checkTokens([secondTurn, firstTurn], replies)).toEqual({
      received: 8,
      events: 7,
      saved: 8,
      lost: 0,
      reordered: 0,
      mismatched: 0,
    });
    // A turn more than the conversation has replies for has none saved.
    expect(
      checkTokens([{ ...firstTurn, dueAt: 5 }, firstTurn, secondTurn], new Map([['a', [second]]])),
    ).toMatchObject({
      mismatched: 2,
    });
  });

  it('counts a turn whose reply was not saved, or saved otherwise, as mismatched', () => {
    const replies = new Map([['b', [{ content: 'Something else entirely. ', status: 'COMPLETE' }]]]);
    expect(checkTokens([whole('a'), whole('b')], replies).mismatched).toBe(2);
  });
});

describe('writeDocsSection', () => {
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'turn-report-'));
  });

  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('replaces what lies between the markers and keeps the rest of the document', async () => {
    const file = join(dir, 'performance.md');
    await writeFile(file, `# Before\n\n${DOCS_BEGIN}\n\nold tables\n\n${DOCS_END}\n\n## After\n`);
    await writeDocsSection(file, 'new tables');
    await writeDocsSection(file, 'newer tables');
    expect(await readFile(file, 'utf8')).toBe(
      `# Before\n\n${DOCS_BEGIN}\n\nnewer tables\n\n${DOCS_END}\n\n## After\n`,
    );
  });

  it('refuses a document without the markers rather than append somewhere', async () => {
    const file = join(dir, 'other.md');
    await writeFile(file, '# Nothing to replace\n');
    await expect(writeDocsSection(file, 'tables')).rejects.toThrow(/markers/);
  });
});
