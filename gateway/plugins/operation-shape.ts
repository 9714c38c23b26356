import {
  type FieldNode,
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

/** What an operation asks for, measured before it is planned. */
export interface OperationShape {
  /** Nesting of fields; a root field is depth 1. */
  depth: number;
  aliases: number;
  /** How often each root field (by name, not alias) is selected, fragments expanded. */
  rootFields: ReadonlyMap<string, number>;
  /** Each field costs 1, times the `first`/`last` (capped) of every field above it. */
  cost: number;
}

interface Measure {
  depth: number;
  aliases: number;
  cost: number;
}

const PAGE_SIZE_ARGUMENTS = ['first', 'last'];

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
 * Measures an operation against the API schema. Each fragment is measured once and reused
 * wherever it is spread, so a document whose fragments fan out cannot make this exponential;
 * a fragment cycle (only an unvalidated document has one) counts as an empty selection.
 */
export function measureOperation(
  schema: GraphQLSchema,
  fragments: ReadonlyMap<string, FragmentDefinitionNode>,
  operation: OperationDefinitionNode,
  variables: Readonly<Record<string, unknown>>,
  listSizeCap: number,
): OperationShape {
  const fragmentMeasures = new Map<string, Measure>();
  const inProgress = new Set<string>();

  const pageSize = (field: FieldNode, definition: GraphQLField<unknown, unknown> | undefined): number => {
    for (const name of PAGE_SIZE_ARGUMENTS) {
      const argument = definition?.args.find((arg) => arg.name === name);
      const node = field.arguments?.find((arg) => arg.name.value === name)?.value;
      const value = node ? argumentValue(node, argument, variables) : argument?.defaultValue;
      if (typeof value === 'number' && value > 0) return Math.min(value, listSizeCap);
    }
    return 1;
  };

  const measureSelections = (
    selectionSet: SelectionSetNode,
    parent: GraphQLNamedType | undefined,
  ): Measure => {
    const total: Measure = { depth: 0, aliases: 0, cost: 0 };
    const add = (part: Measure) => {
      total.depth = Math.max(total.depth, part.depth);
      total.aliases += part.aliases;
      total.cost += part.cost;
    };
    for (const selection of selectionSet.selections) {
      if (selection.kind === Kind.FIELD) {
        const definition = fieldOf(parent, selection.name.value);
        const child = selection.selectionSet
          ? measureSelections(selection.selectionSet, definition && getNamedType(definition.type))
          : { depth: 0, aliases: 0, cost: 0 };
        add({
          depth: child.depth + 1,
          aliases: child.aliases + (selection.alias ? 1 : 0),
          cost: 1 + pageSize(selection, definition) * child.cost,
        });
      } else if (selection.kind === Kind.INLINE_FRAGMENT) {
        const type = selection.typeCondition ? schema.getType(selection.typeCondition.name.value) : parent;
        add(measureSelections(selection.selectionSet, type ?? undefined));
      } else {
        add(measureFragment(selection.name.value));
      }
    }
    return total;
  };

  const measureFragment = (name: string): Measure => {
    const known = fragmentMeasures.get(name);
    if (known) return known;
    const fragment = fragments.get(name);
    if (!fragment || inProgress.has(name)) return { depth: 0, aliases: 0, cost: 0 };
    inProgress.add(name);
    const measure = measureSelections(
      fragment.selectionSet,
      schema.getType(fragment.typeCondition.name.value) ?? undefined,
    );
    inProgress.delete(name);
    fragmentMeasures.set(name, measure);
    return measure;
  };

  const root = schema.getRootType(operation.operation) ?? undefined;
  const measure = measureSelections(operation.selectionSet, root);
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
