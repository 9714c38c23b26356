import {
  type ConstDirectiveNode,
  defaultFieldResolver,
  type GraphQLField,
  type GraphQLFieldResolver,
  type GraphQLObjectType,
  type GraphQLSchema,
  isObjectType,
  valueFromASTUntyped,
} from 'graphql';
import { Directive } from 'type-graphql';
import { forbidden, unauthenticated } from '../errors/errors';
import type { Caller } from './caller';
import type { Identity } from './identity';
import { grants, isRole, ROLES, type Role } from './roles';

/**
 * Access is declared with Federation's own directives, imported through `@link` in every subgraph
 * (common/graphql/federation.ts), so composition carries them into the supergraph and the gateway
 * enforces them before planning (gateway/plugins/edge-authorization.ts). `@authenticated`: any
 * signed-in caller. `@requiresScopes(scopes: [[...]])`: the outer list is OR, the inner AND; the
 * only scopes are roles, `role:USER` and `role:ADMIN`, and a role holds the scope of every role it
 * grants (an ADMIN holds `role:USER` too).
 */
export const AUTHENTICATED = 'authenticated';
export const REQUIRES_SCOPES = 'requiresScopes';
const ROLE_SCOPE_PREFIX = 'role:';

export const scopeOf = (role: Role) => `${ROLE_SCOPE_PREFIX}${role}`;

/** `@requiresScopes` for one role on a type-graphql field or type: only callers with at least it. */
export const RequiresRole = (role: Role) => Directive(`@${REQUIRES_SCOPES}(scopes: [["${scopeOf(role)}"]])`);

/** What a field asks of its caller: any signed-in user (`role: null`), or at least a role. */
export interface Requirement {
  role: Role | null;
}

/** Throws UNAUTHENTICATED for an anonymous caller and FORBIDDEN for one whose role is too low. */
export function assertAllowed(identity: Identity, requirement: Requirement): void {
  if (!identity.userId || !identity.role) throw unauthenticated();
  if (requirement.role && !grants(identity.role, requirement.role)) {
    throw forbidden();
  }
}

/** Whether a caller meets a requirement, without throwing. */
export const isAllowed = (identity: Identity, requirement: Requirement): boolean =>
  identity.userId !== null &&
  identity.role !== null &&
  (requirement.role === null || grants(identity.role, requirement.role));

const rank = (role: Role | null) => (role === null ? -1 : ROLES.indexOf(role));
const strongest = (roles: (Role | null)[]) => roles.reduce((a, b) => (rank(a) >= rank(b) ? a : b), null);
const weakest = (roles: (Role | null)[]) => roles.reduce((a, b) => (rank(a) <= rank(b) ? a : b));

function roleOfScope(scope: unknown, where: string): Role {
  const role = typeof scope === 'string' ? scope.slice(ROLE_SCOPE_PREFIX.length) : undefined;
  if (typeof scope !== 'string' || !scope.startsWith(ROLE_SCOPE_PREFIX) || !isRole(role)) {
    throw new Error(
      `@${REQUIRES_SCOPES} on ${where}: "${String(scope)}" is not a scope; the scopes are ${ROLES.map(scopeOf).join(', ')}`,
    );
  }
  return role;
}

/** The role `@requiresScopes(scopes:)` asks for: the weakest alternative, each its strongest role. */
function roleOfScopes(scopes: unknown, where: string): Role | null {
  if (!Array.isArray(scopes) || scopes.length === 0 || !scopes.every(Array.isArray)) {
    throw new Error(`@${REQUIRES_SCOPES} on ${where}: scopes must be a non-empty list of lists`);
  }
  return weakest(
    (scopes as unknown[][]).map((all) => strongest(all.map((scope) => roleOfScope(scope, where)))),
  );
}

/** The requirement the directives of one type or field declare; null when they declare none. */
export function requirementOfDirectives(
  directives: readonly ConstDirectiveNode[],
  where: string,
): Requirement | null {
  let requirement: Requirement | null = null;
  for (const directive of directives) {
    if (directive.name.value === AUTHENTICATED) requirement = combine(requirement, { role: null });
    if (directive.name.value !== REQUIRES_SCOPES) continue;
    const scopes = directive.arguments?.find((argument) => argument.name.value === 'scopes');
    const role = roleOfScopes(scopes && valueFromASTUntyped(scopes.value), where);
    requirement = combine(requirement, { role });
  }
  return requirement;
}

/** Both requirements at once (a type's and its field's). */
export function combine(a: Requirement | null, b: Requirement | null): Requirement | null {
  if (!a || !b) return a ?? b;
  return { role: strongest([a.role, b.role]) };
}

type Directable = GraphQLObjectType | GraphQLField<unknown, unknown>;

const directivesOf = (element: Directable): ConstDirectiveNode[] =>
  [element.astNode, ...('extensionASTNodes' in element ? element.extensionASTNodes : [])].flatMap(
    (node) => node?.directives ?? [],
  );

function guard(
  resolver: GraphQLFieldResolver<unknown, unknown>,
  requirement: Requirement,
): GraphQLFieldResolver<unknown, unknown> {
  return (source, args, context, info) => {
    assertAllowed((context as { caller: Caller }).caller, requirement);
    return resolver(source, args, context, info);
  };
}

/**
 * Enforces `@authenticated` and `@requiresScopes` by wrapping the resolvers (and, for
 * subscriptions, the subscribe functions) of every field that carries them or whose type does.
 * The schema is changed in place, so whatever `@apollo/subgraph` attached to its types (reference
 * resolvers) stays. The caller comes from `context.caller`, which only the verified signed header
 * sets. The gateway checks the same directives first; this is the subgraph's own defence.
 */
export function enforceAuthorization(schema: GraphQLSchema): GraphQLSchema {
  for (const type of Object.values(schema.getTypeMap())) {
    if (!isObjectType(type) || type.name.startsWith('__')) continue;
    const typeRequirement = requirementOfDirectives(directivesOf(type), type.name);
    for (const field of Object.values(type.getFields())) {
      const requirement = combine(
        typeRequirement,
        requirementOfDirectives(directivesOf(field), `${type.name}.${field.name}`),
      );
      if (!requirement) continue;
      field.resolve = guard(field.resolve ?? defaultFieldResolver, requirement);
      if (field.subscribe) field.subscribe = guard(field.subscribe, requirement);
    }
  }
  return schema;
}
