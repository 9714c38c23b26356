import {
  type FieldNode,
  getNullableType,
  isListType,
  type FragmentDefinitionNode,
  getNamedType,
  type GraphQLArgument,
  type GraphQLField,
  type GraphQLNamedType,
  type GraphQLSchema,
  isInterfaceType,
  isObjectType,
  Kind,
  Lexer,
  type OperationDefinitionNode,
  type SelectionSetNode,
  Source,
  TokenKind,
  type ValueNode,
  valueFromAST,
} from 'graphql';
import { fieldKey, type ListSize, type ListSizes } from './list-size';

/** What an operation asks for, measured before it is planned. */
export interface OperationShape {
  /** Nesting of fields; a root field is depth 1. */
  depth: number;
  aliases: number;
  /** How often each root field (by name, not alias) is selected, fragments expanded. */
  rootFields: ReadonlyMap<string, number>;
  /** Each field costs 1, and each list field multiplies what it selects by its size (below). */
  cost: number;
}

/** How list sizes are known: the schema's `@listSize`s (common/graphql/list-size.ts). */
export interface CostModel {
  listSizes: ListSizes;
  /** An integer slicing argument above this counts as this much (the resolvers refuse more anyway). */
  listSizeCap: number;
}

interface Measure {
  depth: number;
  aliases: number;
  cost: number;
}

const NOTHING: Measure = { depth: 0, aliases: 0, cost: 0 };

/** Children of a connection-like field (`edges`) that its size applies to, with that size. */
type SizedChildren = ReadonlyMap<string, number>;
const NONE_SIZED: SizedChildren = new Map();

/**
 * Tokens in a document as graphql-js's parser counts them (comments aside), counting no further
 * than `max + 1`: a refusal costs no more than the limit.
 */
export function countTokens(source: string, max: number): number {
  const lexer = new Lexer(new Source(source));
  let count = 0;
  try {
    while (count <= max && lexer.advance().kind !== TokenKind.EOF) count += 1;
  } catch {
    // A syntax error ends the count; the parser reports it.
  }
  return count;
}

/**
 * Measures an operation against a schema. A field costs 1 plus what it selects times its size:
 * a list field's size is its `@listSize` (the largest slicing argument given, capped, or the
 * length of a list argument; else its assumed size), applied to the field itself or, with
 * `sizedFields`, to those of its children (a connection's `edges`). A list the schema gives no
 * size counts at the cap; introspection fields count once (their size is the schema's, and
 * graphql-js bounds their nesting). Each fragment is measured once per sizing and reused wherever
 * it is spread, so a document whose fragments fan out cannot make this exponential; a fragment
 * cycle (only an unvalidated document has one) counts as an empty selection.
 */
export function measureOperation(
  schema: GraphQLSchema,
  fragments: ReadonlyMap<string, FragmentDefinitionNode>,
  operation: OperationDefinitionNode,
  variables: Readonly<Record<string, unknown>>,
  model: CostModel,
): OperationShape {
  const fragmentMeasures = new Map<string, Measure>();
  const inProgress = new Set<string>();

  const sizeOf = (
    size: ListSize,
    field: FieldNode,
    definition: GraphQLField<unknown, unknown> | undefined,
  ) => {
    const given: number[] = [];
    for (const name of size.slicingArguments ?? []) {
      const argument = definition?.args.find((arg) => arg.name === name);
      const node = field.arguments?.find((arg) => arg.name.value === name)?.value;
      const value = node ? argumentValue(node, argument, variables) : argument?.defaultValue;
      if (typeof value === 'number') given.push(Math.min(Math.max(value, 0), model.listSizeCap));
      else if (Array.isArray(value)) given.push(value.length);
    }
    return given.length > 0 ? Math.max(...given) : (size.assumedSize ?? model.listSizeCap);
  };

  const measureSelections = (
    selectionSet: SelectionSetNode,
    parent: GraphQLNamedType | undefined,
    sized: SizedChildren,
  ): Measure => {
    const total: Measure = { depth: 0, aliases: 0, cost: 0 };
    const add = (part: Measure) => {
      total.depth = Math.max(total.depth, part.depth);
      total.aliases += part.aliases;
      total.cost += part.cost;
    };
    for (const selection of selectionSet.selections) {
      if (selection.kind === Kind.FIELD) {
        const name = selection.name.value;
        const definition = fieldOf(parent, name);
        const size = parent && model.listSizes.get(fieldKey(parent.name, name));
        const items = size ? sizeOf(size, selection, definition) : model.listSizeCap;
        const sizesChildren = (size?.sizedFields?.length ?? 0) > 0;
        const multiplier =
          sized.get(name) ??
          (size && !sizesChildren
            ? items
            : !size && definition && isListType(getNullableType(definition.type))
              ? model.listSizeCap
              : 1);
        const child = selection.selectionSet
          ? measureSelections(
              selection.selectionSet,
              definition && getNamedType(definition.type),
              sizesChildren ? new Map(size?.sizedFields?.map((field) => [field, items])) : NONE_SIZED,
            )
          : NOTHING;
        add({
          depth: child.depth + 1,
          aliases: child.aliases + (selection.alias ? 1 : 0),
          cost: 1 + multiplier * child.cost,
        });
      } else if (selection.kind === Kind.INLINE_FRAGMENT) {
        const type = selection.typeCondition ? schema.getType(selection.typeCondition.name.value) : parent;
        add(measureSelections(selection.selectionSet, type ?? undefined, sized));
      } else {
        add(measureFragment(selection.name.value, sized));
      }
    }
    return total;
  };

  const measureFragment = (name: string, sized: SizedChildren): Measure => {
    const key = `${name}|${[...sized].join(',')}`;
    const known = fragmentMeasures.get(key);
    if (known) return known;
    const fragment = fragments.get(name);
    if (!fragment || inProgress.has(name)) return NOTHING;
    inProgress.add(name);
    const measure = measureSelections(
      fragment.selectionSet,
      schema.getType(fragment.typeCondition.name.value) ?? undefined,
      sized,
    );
    inProgress.delete(name);
    fragmentMeasures.set(key, measure);
    return measure;
  };

  const root = schema.getRootType(operation.operation) ?? undefined;
  const measure = measureSelections(operation.selectionSet, root, NONE_SIZED);
  return { ...measure, rootFields: rootFieldsOf(operation, fragments) };
}

function fieldOf(parent: GraphQLNamedType | undefined, name: string) {
  return isObjectType(parent) || isInterfaceType(parent) ? parent.getFields()[name] : undefined;
}

function argumentValue(
  node: ValueNode,
  argument: GraphQLArgument | undefined,
  variables: Readonly<Record<string, unknown>>,
): unknown {
  if (node.kind === Kind.VARIABLE) return variables[node.name.value] ?? argument?.defaultValue;
  return argument ? valueFromAST(node, argument.type) : undefined;
}

/** Root field names with how often each is selected; each fragment is counted once, then reused. */
export function rootFieldsOf(
  operation: OperationDefinitionNode,
  fragments: ReadonlyMap<string, FragmentDefinitionNode>,
): Map<string, number> {
  const byFragment = new Map<string, Map<string, number>>();
  const inProgress = new Set<string>();
  const count = (selections: SelectionSetNode): Map<string, number> => {
    const counts = new Map<string, number>();
    const add = (name: string, times: number) => counts.set(name, (counts.get(name) ?? 0) + times);
    for (const selection of selections.selections) {
      if (selection.kind === Kind.FIELD) add(selection.name.value, 1);
      else if (selection.kind === Kind.INLINE_FRAGMENT) {
        for (const [name, times] of count(selection.selectionSet)) add(name, times);
      } else {
        for (const [name, times] of countFragment(selection.name.value)) add(name, times);
      }
    }
    return counts;
  };
  const countFragment = (name: string): Map<string, number> => {
    const known = byFragment.get(name);
    if (known) return known;
    const fragment = fragments.get(name);
    if (!fragment || inProgress.has(name)) return new Map();
    inProgress.add(name);
    const counts = count(fragment.selectionSet);
    inProgress.delete(name);
    byFragment.set(name, counts);
    return counts;
  };
  return count(operation.selectionSet);
}

/** The fragment definitions of a document, by name. */
export function fragmentsOf(document: {
  definitions: readonly { kind: string }[];
}): Map<string, FragmentDefinitionNode> {
  return new Map(
    document.definitions
      .filter(
        (definition): definition is FragmentDefinitionNode => definition.kind === Kind.FRAGMENT_DEFINITION,
      )
      .map((fragment) => [fragment.name.value, fragment]),
  );
}
