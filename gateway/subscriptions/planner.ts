import { operationFromDocument, type Schema } from '@apollo/federation-internals';
import { QueryPlanner, type QueryPlan } from '@apollo/query-planner';
import type { DocumentNode, GraphQLSchema } from 'graphql';
import { type ListSizes, listSizesOf } from '../../common/graphql/list-size';
import { buildSupergraph } from '../../common/graphql/supergraph';
import { type AccessRules, accessRulesOf } from '../../common/identity/access-rules';

const PLAN_CACHE_SIZE = 1000;

/**
 * The supergraph as the subscription executor needs it: the API schema clients validate
 * against, the supergraph schema the plan executor shapes results with, and a query planner
 * whose plans are cached per operation (planning costs far more than executing).
 */
export class SupergraphPlanner {
  readonly apiSchema: Schema;
  readonly schema: GraphQLSchema;
  readonly supergraphSchema: GraphQLSchema;
  /** The supergraph's `@listSize`s, for the cost estimate (common/graphql/operation-shape.ts). */
  readonly listSizes: ListSizes;
  /** The supergraph's `@authenticated`/`@requiresScopes`, for authorization at the edge. */
  readonly accessRules: AccessRules;
  private readonly planner: QueryPlanner;
  private readonly plans = new Map<string, QueryPlan>();

  constructor(supergraphSdl: string) {
    const supergraph = buildSupergraph(supergraphSdl);
    this.apiSchema = supergraph.apiSchema();
    this.schema = this.apiSchema.toGraphQLJSSchema();
    this.supergraphSchema = supergraph.schema.toGraphQLJSSchema();
    this.listSizes = listSizesOf(supergraphSdl);
    this.accessRules = accessRulesOf(supergraphSdl);
    this.planner = new QueryPlanner(supergraph);
  }

  /** `cacheKey` identifies the document (its source text); the operation name completes it. */
  plan(document: DocumentNode, operationName: string | undefined, cacheKey: string): QueryPlan {
    const key = `${operationName ?? ''}\n${cacheKey}`;
    const cached = this.plans.get(key);
    if (cached) return cached;
    const plan = this.planner.buildQueryPlan(
      operationFromDocument(this.apiSchema, document, { operationName }),
    );
    if (this.plans.size >= PLAN_CACHE_SIZE) this.plans.delete(this.plans.keys().next().value as string);
    this.plans.set(key, plan);
    return plan;
  }
}
