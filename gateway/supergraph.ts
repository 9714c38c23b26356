import { IntrospectAndCompose, type SupergraphManager } from '@apollo/gateway';
import { readFileSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { projectRoot } from '../common/config/paths';
import { type GatewayConfig, subgraphUrls } from './config';

/**
 * Production serves the committed, reviewed supergraph; development can compose from the
 * running subgraphs instead (SUPERGRAPH_INTROSPECT=true), polling for changes.
 */
export function supergraphSource(config: GatewayConfig): string | SupergraphManager {
  if (config.SUPERGRAPH_INTROSPECT) {
    return new IntrospectAndCompose({
      subgraphs: Object.entries(subgraphUrls(config)).map(([name, url]) => ({ name, url })),
      pollIntervalInMs: 5000,
    });
  }
  const path = isAbsolute(config.SUPERGRAPH_PATH)
    ? config.SUPERGRAPH_PATH
    : join(projectRoot(), config.SUPERGRAPH_PATH);
  return readFileSync(path, 'utf8');
}
