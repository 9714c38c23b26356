import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { projectRoot } from '../../common/config/paths';
import { summariseProfiles } from './profile-summary';

const root = projectRoot();

/** A profile of two functions and idle time: 1 ms samples from t = 1,000,000 µs (1,000 ms). */
const profile = {
  nodes: [
    { id: 1, callFrame: { functionName: '(root)', url: '', lineNumber: -1 } },
    { id: 2, callFrame: { functionName: '(idle)', url: '', lineNumber: -1 } },
    {
      id: 3,
      callFrame: {
        functionName: 'execute',
        url: `file://${root}/node_modules/graphql/execution/execute.js`,
        lineNumber: 9,
      },
    },
    {
      id: 4,
      callFrame: {
        functionName: 'append',
        url: `file://${root}/dist/subgraphs/chat/streams/event-log.js`,
        lineNumber: 41,
      },
    },
  ],
  startTime: 1_000_000,
  // Samples at 1,001 … 1,010 ms: execute ×4, append ×3, idle ×3 (the last sample has no time after it).
  samples: [3, 3, 4, 2, 3, 4, 2, 2, 3, 4, 1],
  timeDeltas: [1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000],
};

describe('summariseProfiles', () => {
  let dir: string;
  let file: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'profile-summary-'));
    file = join(dir, 'chat.cpuprofile');
    await writeFile(file, JSON.stringify(profile));
  });

  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('adds up self time per function and per package, idle apart', () => {
    const summary = summariseProfiles('chat', [file]);
    expect(summary).toMatchObject({ service: 'chat', sampledMs: 10, busyMs: 7 });
    expect(summary.functions).toEqual([
      { name: 'execute graphql/execution/execute.js:10', ms: 4 },
      { name: 'append subgraphs/chat/streams/event-log.js:42', ms: 3 },
    ]);
    expect(summary.packages).toEqual([
      { name: 'graphql', ms: 4 },
      { name: 'subgraphs/chat', ms: 3 },
    ]);
  });

  it('counts only the samples inside the ranges given, on the monotonic clock in ms', () => {
    const summary = summariseProfiles('chat', [file], { ranges: [{ from: 1004, to: 1006 }] });
    // The samples at 1,004 (idle), 1,005 (execute) and 1,006 (append).
    expect(summary).toMatchObject({ sampledMs: 3, busyMs: 2 });
    expect(summary.functions.map((f) => f.ms)).toEqual([1, 1]);
  });
});
