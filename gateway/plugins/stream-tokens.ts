import {
  type DocumentNode,
  type FragmentDefinitionNode,
  getNamedType,
  getOperationAST,
  type GraphQLSchema,
  Kind,
  type SelectionSetNode,
} from 'graphql';
import { fragmentsOf } from '../../common/graphql/operation-shape';

const EVENT_TYPE = 'GenerationEvent';

interface SelectedField {
  /** Where it appears in the result: its alias, or its name. */
  key: string;
  name: string;
  selectionSet?: SelectionSetNode;
}

/** The fields a selection set selects at its own level, through fragments and inline fragments. */
function selectedFields(
  selectionSet: SelectionSetNode,
  fragments: ReadonlyMap<string, FragmentDefinitionNode>,
  visited = new Set<string>(),
): SelectedField[] {
  return selectionSet.selections.flatMap((selection): SelectedField[] => {
    if (selection.kind === Kind.FIELD) {
      const { alias, name, selectionSet: children } = selection;
      return [{ key: alias?.value ?? name.value, name: name.value, selectionSet: children }];
    }
    if (selection.kind === Kind.INLINE_FRAGMENT)
      return selectedFields(selection.selectionSet, fragments, visited);
    const fragment = fragments.get(selection.name.value);
    if (!fragment || visited.has(fragment.name.value)) return [];
    visited.add(fragment.name.value);
    return selectedFields(fragment.selectionSet, fragments, visited);
  });
}

/**
 * Counts the TOKEN events in each result of a subscription. An event is a TOKEN when its `type`
 * (under whatever alias) is TOKEN, or, if the client did not select `type`, when it carries a
 * `delta` (only TOKEN events do). Subscriptions of anything but generation events count none.
 */
export function tokenEventCounter(
  schema: GraphQLSchema,
  document: DocumentNode,
  operationName?: string | null,
): (data: unknown) => number {
  const operation = getOperationAST(document, operationName);
  const subscriptionType = schema.getSubscriptionType();
  if (!operation || !subscriptionType) return () => 0;
  const fragments = fragmentsOf(document);
  const rootFields = subscriptionType.getFields();
  const eventFields = selectedFields(operation.selectionSet, fragments)
    .filter((field) => {
      const definition = rootFields[field.name];
      return definition !== undefined && getNamedType(definition.type).name === EVENT_TYPE;
    })
    .map((field) => {
      const inside = field.selectionSet ? selectedFields(field.selectionSet, fragments) : [];
      return {
        key: field.key,
        typeKeys: inside.filter((f) => f.name === 'type').map((f) => f.key),
        deltaKeys: inside.filter((f) => f.name === 'delta').map((f) => f.key),
      };
    });
  return (data) => {
    if (typeof data !== 'object' || data === null) return 0;
    let tokens = 0;
    for (const { key, typeKeys, deltaKeys } of eventFields) {
      const event = (data as Record<string, Record<string, unknown> | null>)[key];
      if (!event) continue;
      const isToken =
        typeKeys.length > 0
          ? typeKeys.some((typeKey) => event[typeKey] === 'TOKEN')
          : deltaKeys.some((deltaKey) => typeof event[deltaKey] === 'string');
      if (isToken) tokens += 1;
    }
    return tokens;
  };
}
