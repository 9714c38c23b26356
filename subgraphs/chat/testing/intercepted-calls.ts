import type { ConversationClient } from '../clients/conversation.client';

/**
 * `inner` with every method call passed through `around`, by name: it may count the call, answer it
 * itself, wait, or fail, and calls on to `inner` with `proceed`; it sees the call's arguments. Pipeline tests use it to watch or
 * change what chat asks of the conversation subgraph.
 */
export function interceptCalls(
  inner: ConversationClient,
  around: (method: string, proceed: () => unknown, args: unknown[]) => unknown,
): ConversationClient {
  return new Proxy(inner, {
    get(target, property, receiver) {
      const value: unknown = Reflect.get(target, property, receiver);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) =>
        around(
          String(property),
          () => (value as (...params: unknown[]) => unknown).apply(target, args),
          args,
        );
    },
  });
}
