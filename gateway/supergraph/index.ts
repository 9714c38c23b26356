import { IntrospectAndCompose, type SupergraphManager } from '@apollo/gateway';
import { isAbsolute, join } from 'node:path';
import { projectRoot } from '../../common/config/paths';
import type { Logger } from '../../common/logging/logger';
import { type GatewayConfig, subgraphUrls } from '../config';
import { CurrentSupergraph } from './current';
import { ReloadingSupergraphManager } from './manager';
import { fileSource, urlSource } from './source';

/** How often IntrospectAndCompose asks the running subgraphs for their schemas (development). */
const INTROSPECTION_POLL_MS = 5000;

/**
 * Where the gateway's supergraph comes from, and the supergraph it serves. Production serves a
 * composed, reviewed supergraph from SUPERGRAPH_URL or SUPERGRAPH_PATH and swaps in each new one that
 * loads (docs/gateway.md, "Rolling out a supergraph"); development can compose from the running
 * subgraphs instead (SUPERGRAPH_INTROSPECT=true).
 */
export function supergraphOf(
  config: GatewayConfig,
  logger: Logger,
): { manager: SupergraphManager; current: CurrentSupergraph } {
  if (config.SUPERGRAPH_INTROSPECT) {
    return {
      current: new CurrentSupergraph('introspection'),
      manager: new IntrospectAndCompose({
        subgraphs: Object.entries(subgraphUrls(config)).map(([name, url]) => ({ name, url })),
        pollIntervalInMs: INTROSPECTION_POLL_MS,
      }),
    };
  }
  const interval = config.SUPERGRAPH_POLL_INTERVAL_MS;
  const source = config.SUPERGRAPH_URL
    ? urlSource(config.SUPERGRAPH_URL, interval)
    : fileSource(
        isAbsolute(config.SUPERGRAPH_PATH)
          ? config.SUPERGRAPH_PATH
          : join(projectRoot(), config.SUPERGRAPH_PATH),
        interval,
      );
  const current = new CurrentSupergraph(source.description);
  return {
    current,
    manager: new ReloadingSupergraphManager(source, current, logger.child({ component: 'supergraph' })),
  };
}
