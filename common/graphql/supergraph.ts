import { DEFAULT_SUPPORTED_SUPERGRAPH_FEATURES, Supergraph } from '@apollo/federation-internals';
import type { DocumentNode } from 'graphql';

/**
 * The `for: SECURITY` features composition links into the supergraph for Federation's
 * `@authenticated` and `@requiresScopes`. A gateway must refuse a supergraph with a security
 * feature it does not enforce, and @apollo/gateway enforces neither (only Apollo Router does); this
 * gateway enforces both before planning (gateway/plugins/edge-authorization.ts), so it accepts them.
 */
export const ENFORCED_SECURITY_FEATURES = [
  'https://specs.apollo.dev/authenticated/v0.1',
  'https://specs.apollo.dev/requiresScopes/v0.1',
] as const;

const SUPPORTED_FEATURES = new Set([...DEFAULT_SUPPORTED_SUPERGRAPH_FEATURES, ...ENFORCED_SECURITY_FEATURES]);

/** A supergraph as this gateway reads it: Federation's checks, with the security features it enforces. */
export const buildSupergraph = (sdl: string | DocumentNode): Supergraph =>
  Supergraph.build(sdl, { supportedFeatures: SUPPORTED_FEATURES });

/**
 * @apollo/gateway builds the supergraph with federation-internals' default feature set and takes no
 * option for it, so the gateway adds the features it enforces there, once, before it loads one.
 */
export function acceptEnforcedSecurityFeatures(): void {
  for (const feature of ENFORCED_SECURITY_FEATURES) DEFAULT_SUPPORTED_SUPERGRAPH_FEATURES.add(feature);
}
