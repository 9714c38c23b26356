import { SupergraphPlanner } from '../subscriptions/planner';
import { supergraphHash } from './current';

export type SupergraphValidation =
  | { ok: true; hash: string; planner: SupergraphPlanner }
  | { ok: false; hash: string; reason: string };

/**
 * Whether the gateway can serve a supergraph, decided before it is offered to Apollo: it parses,
 * builds as this gateway reads supergraphs (Federation's checks, every `for: SECURITY` feature one
 * the edge enforces, `common/graphql/supergraph.ts`), has an API schema, and plans (its access rules
 * and list sizes read, a query planner built). What passes is kept, planned, for the swap.
 */
export function validateSupergraph(sdl: string): SupergraphValidation {
  const hash = supergraphHash(sdl);
  try {
    return { ok: true, hash, planner: new SupergraphPlanner(sdl) };
  } catch (error) {
    return { ok: false, hash, reason: error instanceof Error ? error.message : String(error) };
  }
}
