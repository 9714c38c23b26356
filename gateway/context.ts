import type { Identity } from '../common/identity';
import type { Logger } from '../common/logger';

/** Per-request state of the gateway, handed to every subgraph fetch of the request. */
export interface GatewayContext {
  requestId: string;
  /** Who the caller is, as verified by the gateway; anonymous callers have a null userId. */
  identity: Identity;
  logger: Logger;
}
