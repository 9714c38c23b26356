import { RemoteGraphQLDataSource, type GraphQLDataSourceProcessOptions } from '@apollo/gateway';
import { IDENTITY_HEADER, signIdentity, type Identity } from '../common/identity';
import { REQUEST_ID_HEADER } from '../common/request-id';
import type { GatewayContext } from './context';

/** Used for the gateway's own calls that belong to no client request (composition in development). */
const gatewayIdentity = (): Identity => ({
  userId: null,
  role: null,
  sessionId: null,
  requestId: 'gateway',
  issuer: 'gateway',
});

/**
 * Every request to a subgraph (operations and entity fetches alike) carries the caller's
 * identity signed with the shared secret; subgraphs refuse requests without it.
 */
export class SignedDataSource extends RemoteGraphQLDataSource<GatewayContext> {
  constructor(
    url: string,
    private readonly identitySecret: string,
  ) {
    super({ url });
  }

  override willSendRequest({ request, context }: GraphQLDataSourceProcessOptions<GatewayContext>): void {
    const identity = (context as Partial<GatewayContext>).identity ?? gatewayIdentity();
    request.http?.headers.set(IDENTITY_HEADER, signIdentity(identity, this.identitySecret));
    request.http?.headers.set(REQUEST_ID_HEADER, identity.requestId);
  }
}
