import type { DocumentNode, GraphQLSchema } from 'graphql';
import { AppError, forbidden, unauthenticated } from '../../common/errors/errors';
import type { AccessRules } from '../../common/identity/access-rules';
import type { Identity } from '../../common/identity/identity';
import { type RefusedField, refusedFields } from '../../common/identity/operation-access';
import type { GatewayPlugin } from './plugin';
import { httpRefusal } from './refusals';

export interface EdgeAuthorizationOptions {
  /** The API schema, for the subscription path (Apollo's plugins get it with the request). */
  schema: () => GraphQLSchema;
  /** The current supergraph's `@authenticated`/`@requiresScopes` (common/identity/access-rules.ts). */
  accessRules: () => AccessRules;
}

/** UNAUTHENTICATED for an anonymous caller, FORBIDDEN for a signed-in one; both name the fields. */
function refusal(identity: Identity, refused: readonly RefusedField[]): AppError {
  const paths = refused.map((field) => field.path);
  const error = identity.userId
    ? forbidden(`Your role may not select: ${paths.join(', ')}`)
    : unauthenticated(`Sign in to select: ${paths.join(', ')}`);
  return new AppError(error.code, error.message, { refusedFields: paths });
}

/**
 * Authorization at the edge: before an operation is planned, every field it selects is checked
 * against the live supergraph's `@authenticated` and `@requiresScopes` and the verified caller,
 * and an operation selecting any field the caller may not see is refused whole, so no subgraph
 * is asked anything for it. Over HTTP and for queries over WebSocket/SSE in Apollo's
 * `didResolveOperation`; for subscriptions (every streaming transport) on the operation router's
 * admit hook. Subgraphs still enforce the same directives themselves.
 */
export function useEdgeAuthorization(options: EdgeAuthorizationOptions): GatewayPlugin {
  const check = (
    schema: GraphQLSchema,
    document: DocumentNode,
    operationName: string | null | undefined,
    identity: Identity,
  ): AppError | undefined => {
    const refused = refusedFields(schema, options.accessRules(), document, operationName, identity);
    return refused.length > 0 ? refusal(identity, refused) : undefined;
  };
  return {
    name: 'edge-authorization',
    apollo: {
      async requestDidStart() {
        return {
          async didResolveOperation({ schema, document, operationName, contextValue }) {
            const error = check(schema, document, operationName, contextValue.identity);
            if (error) throw httpRefusal(error);
          },
        };
      },
    },
    subscriptions: {
      admit: async (request, context) => {
        const error = check(options.schema(), request.document, request.operationName, context.identity);
        if (error) throw error;
      },
    },
  };
}
