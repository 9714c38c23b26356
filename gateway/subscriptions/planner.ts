import { operationFromDocument, type Schema } from '@apollo/federation-internals';
import { QueryPlanner, type QueryPlan } from '@apollo/query-planner';
import { type DocumentNode, type GraphQLError, type GraphQLSchema, validate } from 'graphql';
import { type ListSizes, listSizesOf } from '../../common/graphql/list-size';
import { buildSupergraph } from '../../common/graphql/supergraph';
import { type AccessRules, accessRulesOf } from '../../common/identity/access-rules';
import { oncePerDocument } from '../../common/graphql/once-per-document';
import { BoundedCache } from '../../common/util/bounded-cache';

const PLAN_CACHE_SIZE = 1000;

/**
 * The supergraph as the subscription executor needs it: the API schema clients validate
 * against, the supergraph schema the plan executor shapes results with, and a query planner
 * whose plans are cached per operation (planning costs far more than executing). Validation is
 * cached per document too: the transports hand the same parsed document to every subscription
 * with the same text, so a client's usual subscription is validated once, not on every reply.
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
  private readonly plans = new BoundedCache<string, QueryPlan>(PLAN_CACHE_SIZE);

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
    return this.plans.getOrSet(`${operationName ?? ''}\n${cacheKey}`, () =>
      this.planner.buildQueryPlan(operationFromDocument(this.apiSchema, document, { operationName })),
    );
  }

  /** graphql-js's validation of a document against the API schema (none when it is valid), once per document. */
  readonly validate: (document: DocumentNode) => readonly GraphQLError[] = oncePerDocument((document) =>
    validate(this.schema, document),
  );
}
