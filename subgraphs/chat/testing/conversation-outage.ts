import { upstreamUnavailable } from '../../../common/errors/errors';
import type { ConversationClient } from '../clients/conversation.client';
import { interceptCalls } from './intercepted-calls';

export interface ConversationOutage {
  /** The store to give the pipeline: `inner` while up. */
  store: ConversationClient;
  /** Every call fails as the conversation client fails when the subgraph is down. */
  refuse: () => void;
  /** Every call waits, as behind a stopped database, until `restore`. */
  hang: () => void;
  restore: () => void;
}

/** Lets a pipeline test take the conversation subgraph away and bring it back. */
export function conversationOutage(inner: ConversationClient): ConversationOutage {
  let mode: 'up' | 'refusing' | 'hanging' = 'up';
  let release: () => void = () => undefined;
  let back = Promise.resolve();
  const store = interceptCalls(inner, async (_method, proceed) => {
    if (mode === 'refusing') throw upstreamUnavailable('conversation');
    if (mode === 'hanging') await back;
    return proceed();
  });
  return {
    store,
    refuse: () => {
      mode = 'refusing';
    },
    hang: () => {
      mode = 'hanging';
      back = new Promise((resolve) => (release = resolve));
    },
    restore: () => {
      mode = 'up';
      release();
    },
  };
}
