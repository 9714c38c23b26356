import { STREAMING_PROTOCOL_REQUIRED_STATUS, streamingProtocolRequired } from '../transports/multipart';
import type { GatewayPlugin } from './plugin';
import { httpRefusal } from './refusals';

/**
 * Refuses a subscription that reaches Apollo Server (plain JSON or GET by persisted hash alone,
 * an operation of a batch) with the coded 406 the multipart transport gives one it sees: Apollo
 * runs only queries and mutations, and @apollo/gateway would throw an untyped error for it, which
 * the client would get as INTERNAL with a 500. Decided on the resolved operation, so every way a
 * document can arrive at Apollo is covered.
 */
export function useSubscriptionProtocol(): GatewayPlugin {
  return {
    name: 'subscription-protocol',
    apollo: {
      async requestDidStart() {
        return {
          async didResolveOperation({ operation }) {
            if (operation?.operation !== 'subscription') return;
            throw httpRefusal(streamingProtocolRequired(), {}, STREAMING_PROTOCOL_REQUIRED_STATUS);
          },
        };
      },
    },
  };
}
