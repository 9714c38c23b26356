import { callerOf, requireService, requireUser } from './caller';
import type { Identity } from './identity';

const identity = (overrides: Partial<Identity>): Identity => ({
  userId: null,
  role: null,
  sessionId: null,
  requestId: 'req',
  issuer: 'gateway',
  ...overrides,
});

const codeOf = (run: () => unknown): string | undefined => {
  try {
    run();
  } catch (error) {
    return (error as { code?: string }).code;
  }
  return undefined;
};

describe('the caller', () => {
  it('names the trusted service that signed the identity, never the gateway', () => {
    expect(callerOf(identity({ issuer: 'chat' }), ['chat']).service).toBe('chat');
    expect(callerOf(identity({ issuer: 'chat' }), []).service).toBeNull();
    expect(callerOf(identity({ issuer: 'gateway' }), ['gateway']).service).toBeNull();
  });

  it('is a user only when it acts for one; anyone else is UNAUTHENTICATED', () => {
    const user = callerOf(identity({ userId: 'u1', role: 'USER' }), []);
    expect(requireUser(user).userId).toBe('u1');
    expect(codeOf(() => requireUser(callerOf(identity({}), [])))).toBe('UNAUTHENTICATED');
  });

  it('reaches internal operations only as a trusted service; anyone else is FORBIDDEN', () => {
    expect(requireService(callerOf(identity({ issuer: 'chat' }), ['chat']))).toBe('chat');
    const relayed = callerOf(identity({ userId: 'u1', role: 'ADMIN' }), ['chat']);
    expect(codeOf(() => requireService(relayed))).toBe('FORBIDDEN');
  });
});
