import type { Identity } from '../../common/identity/identity';
import { silentLogger } from '../../common/testing/logger';
import type { GatewayContext } from '../context';
import { SessionWatcher } from './session-watcher';

const contextFor = (sessionId: string | null): GatewayContext => ({
  requestId: 'req',
  logger: silentLogger(),
  identity: {
    userId: sessionId ? 'user' : null,
    role: null,
    sessionId,
    requestId: 'req',
    issuer: 'gateway',
  } as Identity,
});

describe('SessionWatcher', () => {
  let revoked: Set<string>;
  let watcher: SessionWatcher;
  const asked: string[][] = [];

  beforeEach(() => {
    revoked = new Set();
    asked.length = 0;
    watcher = new SessionWatcher(
      {
        revokedAmong: async (ids) => {
          asked.push([...ids]);
          return new Set(ids.filter((id) => revoked.has(id)));
        },
      },
      60_000,
      silentLogger(),
    );
  });
  afterEach(() => watcher.stop());

  it('ends every stream of a session once it is revoked, with UNAUTHENTICATED', async () => {
    const first = watcher.watch(contextFor('s1'));
    const second = watcher.watch(contextFor('s1'));
    const other = watcher.watch(contextFor('s2'));
    revoked.add('s1');
    await watcher.check();
    for (const watch of [first, second]) {
      await expect(watch.ended).resolves.toMatchObject({ extensions: { code: 'UNAUTHENTICATED' } });
    }
    let otherEnded = false;
    void other.ended.then(() => (otherEnded = true));
    await watcher.check();
    expect(otherEnded).toBe(false);
  });

  it('asks about all watched sessions in one round trip, and stops asking about finished streams', async () => {
    const first = watcher.watch(contextFor('s1'));
    watcher.watch(contextFor('s2'));
    await watcher.check();
    first.stop();
    await watcher.check();
    expect(asked).toEqual([['s1', 's2'], ['s2']]);
  });

  it('does not watch an anonymous stream: there is no session to revoke', async () => {
    watcher.watch(contextFor(null));
    await watcher.check();
    expect(asked).toEqual([]);
  });
});
