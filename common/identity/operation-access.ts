import {
  type DocumentNode,
  type FragmentDefinitionNode,
  getNamedType,
  getOperationAST,
  type GraphQLCompositeType,
  type GraphQLSchema,
  isAbstractType,
  isCompositeType,
  isInterfaceType,
  isObjectType,
  Kind,
  type SelectionSetNode,
} from 'graphql';
import { type AccessRules, requirementOfField } from './access-rules';
import { combine, isAllowed, type Requirement } from './authorization';
import type { Identity } from './identity';

/** A field the caller may not select: where it is in the response, and what it asks. */
export interface RefusedField {
  path: string;
  requirement: Requirement;
}

/** A field's requirement; on an interface, the strongest of it and every implementation's. */
function requirementAt(
  schema: GraphQLSchema,
  rules: AccessRules,
  parent: GraphQLCompositeType,
  fieldName: string,
): Requirement | null {
  const own = requirementOfField(rules, parent.name, fieldName);
  if (!isAbstractType(parent)) return own;
  return schema
    .getPossibleTypes(parent)
    .reduce(
      (requirement, type) => combine(requirement, requirementOfField(rules, type.name, fieldName)),
      own,
    );
}

/**
 * Every field of the operation the caller may not select, as it would be planned: fragments are
 * followed, each refused field is reported once at its path and not descended into. `@skip` and
 * `@include` are not evaluated, so a field is checked whether or not it would be skipped.
 */
export function refusedFields(
  schema: GraphQLSchema,
  rules: AccessRules,
  document: DocumentNode,
  operationName: string | null | undefined,
  identity: Identity,
): RefusedField[] {
  const operation = getOperationAST(document, operationName);
  const root = operation && schema.getRootType(operation.operation);
  if (!operation || !root) return [];
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const definition of document.definitions) {
    if (definition.kind === Kind.FRAGMENT_DEFINITION) fragments.set(definition.name.value, definition);
  }
  const refused: RefusedField[] = [];
  const walk = (
    selectionSet: SelectionSetNode,
    parent: GraphQLCompositeType,
    path: string,
    seen: Set<string>,
  ) => {
    for (const selection of selectionSet.selections) {
      if (selection.kind === Kind.FIELD) {
        const name = selection.name.value;
        if (name.startsWith('__') || !(isObjectType(parent) || isInterfaceType(parent))) continue;
        const field = parent.getFields()[name];
        if (!field) continue;
        const at = path ? `${path}.${selection.alias?.value ?? name}` : (selection.alias?.value ?? name);
        const requirement = requirementAt(schema, rules, parent, name);
        if (requirement && !isAllowed(identity, requirement)) {
          refused.push({ path: at, requirement });
          continue;
        }
        const type = getNamedType(field.type);
        if (selection.selectionSet && isCompositeType(type)) walk(selection.selectionSet, type, at, seen);
      } else {
        const fragment =
          selection.kind === Kind.FRAGMENT_SPREAD ? fragments.get(selection.name.value) : selection;
        if (!fragment) continue;
        if (selection.kind === Kind.FRAGMENT_SPREAD) {
          if (seen.has(selection.name.value)) continue;
          seen = new Set(seen).add(selection.name.value);
        }
        const condition = fragment.typeCondition && schema.getType(fragment.typeCondition.name.value);
        const type = condition && isCompositeType(condition) ? condition : parent;
        walk(fragment.selectionSet, type, path, seen);
      }
    }
  };
  walk(operation.selectionSet, root, '', new Set());
  return refused;
}
