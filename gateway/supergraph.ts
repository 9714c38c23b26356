import { IntrospectAndCompose, type SupergraphManager } from '@apollo/gateway';
import { readFileSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { projectRoot } from '../common/config/paths';
import { SUBGRAPHS } from '../common/config/topology';
import { type GatewayConfig, subgraphUrl } from './config';

/**
 * Production serves the committed, reviewed supergraph; development can compose from the
 * running subgraphs instead (SUPERGRAPH_INTROSPECT=true), polling for changes.
 */
export function supergraphSource(config: GatewayConfig): string | SupergraphManager {
  if (config.SUPERGRAPH_INTROSPECT) {
    return new IntrospectAndCompose({
      subgraphs: SUBGRAPHS.map((s) => ({ name: s.name, url: subgraphUrl(config, s.name) as string })),
      pollIntervalInMs: 5000,
    });
  }
  const path = isAbsolute(config.SUPERGRAPH_PATH)
    ? config.SUPERGRAPH_PATH
    : join(projectRoot(), config.SUPERGRAPH_PATH);
  return readFileSync(path, 'utf8');
}
