import {
  type ConstDirectiveNode,
  type EnumTypeDefinitionNode,
  getNamedType,
  type GraphQLField,
  type GraphQLSchema,
  isCompositeType,
  isNonNullType,
  Kind,
  type ObjectTypeDefinitionNode,
  type OperationTypeNode,
  parse,
} from 'graphql';
import { accessRulesOf, requirementOfField } from '../../../common/identity/access-rules';
import type { Requirement } from '../../../common/identity/authorization';
import type { SupergraphPlanner } from '../../subscriptions/planner';

/** A root field of the API schema and what the supergraph asks of its caller. */
export interface RootField {
  /** `Query.me` */
  name: string;
  field: string;
  operation: OperationTypeNode;
  requirement: Requirement | null;
}

const OPERATIONS = ['query', 'mutation', 'subscription'] as const;

/** Every root field clients can select, with its `@authenticated`/`@requiresScopes`. */
export function rootFields(supergraph: SupergraphPlanner): RootField[] {
  return OPERATIONS.flatMap((operation) => {
    const root = supergraph.schema.getRootType(operation as OperationTypeNode);
    if (!root) return [];
    return Object.keys(root.getFields()).map((field) => ({
      name: `${root.name}.${field}`,
      field,
      operation: operation as OperationTypeNode,
      requirement: requirementOfField(supergraph.accessRules, root.name, field),
    }));
  });
}

/**
 * The smallest operation that selects one root field: each required argument a variable (a refusal
 * comes before variables are read), a composite result only its `__typename`.
 */
export function probeOperation(schema: GraphQLSchema, root: RootField): string {
  const type = schema.getRootType(root.operation);
  const field = type?.getFields()[root.field] as GraphQLField<unknown, unknown>;
  const required = field.args.filter((arg) => isNonNullType(arg.type) && arg.defaultValue === undefined);
  const variables = required.map((arg) => `$${arg.name}: ${String(arg.type)}`).join(', ');
  const args = required.map((arg) => `${arg.name}: $${arg.name}`).join(', ');
  const selection = isCompositeType(getNamedType(field.type)) ? ' { __typename }' : '';
  return `${root.operation} Probe${variables ? `(${variables})` : ''} { ${root.field}${args ? `(${args})` : ''}${selection} }`;
}

/** A field the supergraph says one subgraph resolves (`@join__field(graph:)`). */
export interface SubgraphField {
  name: string;
  subgraph: string;
  requirement: Requirement | null;
}

const argumentOf = (directive: ConstDirectiveNode, name: string) =>
  directive.arguments?.find((arg) => arg.name.value === name)?.value;

/** The fields of `typeName` each subgraph contributes, read from the supergraph's join directives. */
export function subgraphFieldsOf(supergraphSdl: string, typeName: string): SubgraphField[] {
  const document = parse(supergraphSdl);
  const rules = accessRulesOf(document);
  const graphs = document.definitions.find(
    (definition): definition is EnumTypeDefinitionNode =>
      definition.kind === Kind.ENUM_TYPE_DEFINITION && definition.name.value === 'join__Graph',
  );
  const graphName = new Map(
    (graphs?.values ?? []).map((value) => {
      const name = value.directives?.find((d) => d.name.value === 'join__graph');
      const named = name && argumentOf(name, 'name');
      return [value.name.value, named?.kind === Kind.STRING ? named.value : value.name.value];
    }),
  );
  const type = document.definitions.find(
    (definition): definition is ObjectTypeDefinitionNode =>
      definition.kind === Kind.OBJECT_TYPE_DEFINITION && definition.name.value === typeName,
  );
  return (type?.fields ?? []).flatMap((field) =>
    (field.directives ?? [])
      .filter((directive) => directive.name.value === 'join__field')
      .map((directive) => argumentOf(directive, 'graph'))
      .filter((graph) => graph?.kind === Kind.ENUM)
      .map((graph) => ({
        name: `${typeName}.${field.name.value}`,
        subgraph: graphName.get(graph.value) ?? graph.value,
        requirement: requirementOfField(rules, typeName, field.name.value),
      })),
  );
}
