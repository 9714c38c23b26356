import { getDirective } from '@graphql-tools/utils';
import {
  defaultFieldResolver,
  DirectiveLocation,
  type GraphQLField,
  GraphQLDirective,
  type GraphQLFieldResolver,
  GraphQLNonNull,
  type GraphQLObjectType,
  type GraphQLSchema,
  GraphQLString,
  isObjectType,
} from 'graphql';
import { forbidden, unauthenticated } from '../errors/errors';
import type { Caller } from './caller';
import type { Identity } from './identity';
import { grants, isRole, ROLES, type Role } from './roles';

const PLACES = [DirectiveLocation.FIELD_DEFINITION, DirectiveLocation.OBJECT];

export const authenticatedDirective = new GraphQLDirective({
  name: 'authenticated',
  description: 'Only a signed-in caller may resolve this field (on a type: every field of it).',
  locations: PLACES,
});

export const requiresRoleDirective = new GraphQLDirective({
  name: 'requiresRole',
  description: `Only a signed-in caller with at least this role (${ROLES.join(' < ')}) may resolve this field (on a type: every field of it).`,
  locations: PLACES,
  args: { role: { type: new GraphQLNonNull(GraphQLString) } },
});

/** Declared in every subgraph schema (see common/graphql/federation.ts), so any subgraph can use them. */
export const AUTHORIZATION_DIRECTIVES = [authenticatedDirective, requiresRoleDirective];

/** What a field asks of its caller: any signed-in user (`role: null`), or at least a role. */
interface Requirement {
  role: Role | null;
}

/** Throws UNAUTHENTICATED for an anonymous caller and FORBIDDEN for one whose role is too low. */
export function assertAllowed(identity: Identity, requirement: Requirement): void {
  if (!identity.userId || !identity.role) throw unauthenticated();
  if (requirement.role && !grants(identity.role, requirement.role)) {
    throw forbidden();
  }
}

type Directable = GraphQLObjectType | GraphQLField<unknown, unknown>;

function requirementOf(schema: GraphQLSchema, element: Directable, where: string): Requirement | null {
  const roles = (getDirective(schema, element, requiresRoleDirective.name) ?? []).map(({ role }) => {
    if (!isRole(role)) {
      throw new Error(
        `@requiresRole(role: "${role}") on ${where}: the role must be one of ${ROLES.join(', ')}`,
      );
    }
    return role;
  });
  if (roles.length > 0) return { role: strongestRole(roles) };
  return getDirective(schema, element, authenticatedDirective.name) ? { role: null } : null;
}

const strongestRole = (roles: Role[]): Role =>
  roles.reduce((a, b) => (ROLES.indexOf(a) >= ROLES.indexOf(b) ? a : b));

function combine(a: Requirement | null, b: Requirement | null): Requirement | null {
  if (!a || !b) return a ?? b;
  const roles = [a.role, b.role].filter((role): role is Role => role !== null);
  return { role: roles.length > 0 ? strongestRole(roles) : null };
}

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
 * Enforces `@authenticated` and `@requiresRole` by wrapping the resolvers (and, for subscriptions,
 * the subscribe functions) of every field that carries them or whose type does. The schema is
 * changed in place, so whatever `@apollo/subgraph` attached to its types (reference resolvers)
 * stays. The caller comes from `context.caller`, which only the verified signed header sets.
 */
export function enforceAuthorization(schema: GraphQLSchema): GraphQLSchema {
  for (const type of Object.values(schema.getTypeMap())) {
    if (!isObjectType(type) || type.name.startsWith('__')) continue;
    const typeRequirement = requirementOf(schema, type, type.name);
    for (const field of Object.values(type.getFields())) {
      const requirement = combine(
        typeRequirement,
        requirementOf(schema, field, `${type.name}.${field.name}`),
      );
      if (!requirement) continue;
      field.resolve = guard(field.resolve ?? defaultFieldResolver, requirement);
      if (field.subscribe) field.subscribe = guard(field.subscribe, requirement);
    }
  }
  return schema;
}
