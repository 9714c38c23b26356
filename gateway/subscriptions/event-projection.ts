import {
  type CompositeType,
  type EnumType,
  isCompositeType,
  isListType,
  isNonNullType,
  isObjectType,
  isSubtype,
  isValidLeafValue,
  type ObjectType,
  type Operation,
  operationFromDocument,
  possibleRuntimeTypes,
  type ScalarType,
  type Schema,
  type Selection,
  type SelectionSet,
  type Type,
  typenameFieldName,
  Variable,
} from '@apollo/federation-internals';
import type { SubscriptionNode } from '@apollo/query-planner';
import type { DocumentNode, ExecutionResult, FormattedExecutionResult } from 'graphql';
import { oncePerDocument } from '../../common/graphql/once-per-document';

/**
 * The fast path for a subscription whose every event is served by its primary fetch alone (its plan
 * has no `rest`): the client's result is copied out of the subgraph's event by a projector compiled
 * once, at subscribe time, from the client's operation over the API schema with its coerced
 * variables, instead of running `executeQueryPlan` for each event.
 *
 * It mirrors what `executeQueryPlan`'s result shaping (`computeResponse` in @apollo/gateway) makes
 * of such an event: the same selections in the same order, `@include`/`@skip` and fragment type
 * conditions decided alike, objects without a prototype. It shapes an event only where that
 * shaping is plain copying; wherever it would do more (an error to report, a null to bubble up, a
 * value to coerce away, a missing key read as null) the projector answers `undefined` and the event
 * runs through the plan as before, so a client sees exactly what ordinary execution gives.
 */
export type EventProjection = (event: FormattedExecutionResult) => ExecutionResult | undefined;

/** What a projection answers for a value it cannot vouch for: the event goes through the plan. */
const UNSURE = Symbol('unsure');

/**
 * A value of the result, as compiled from its type and the selections of it. Projecting walks
 * shapes (plain data) with one set of functions shared by every subscription, so V8 optimises them
 * once for all: closures compiled per subscription each warmed up on their own and cost several
 * times as much with a thousand subscriptions open.
 */
type Shape = LeafShape | ListShape | ObjectShape;

interface LeafShape {
  kind: 'leaf';
  nullable: boolean;
  /** String and Boolean, most leaves, are checked inline; any other type as result shaping checks it. */
  check: 'string' | 'boolean' | ScalarType | EnumType;
  schema: Schema;
}

interface ListShape {
  kind: 'list';
  nullable: boolean;
  item: Shape;
}

/**
 * An object of a declared type: result shaping reads the selections against the type its
 * `__typename` names (any of the declared type's possible types), or against the declared type
 * when it names none. The fields are compiled for each; any other `__typename` is not vouched for.
 */
interface ObjectShape {
  kind: 'object';
  nullable: boolean;
  untyped: Entry[] | undefined;
  byTypename: Map<string, Entry[]>;
}

/** One key of a result object, in order: what it is read from in the event and how it is copied. */
interface Entry {
  responseName: string;
  /** The key is also a property of Object.prototype, so only an own property of the event is read. */
  ownOnly: boolean;
  /** The value's shape; none for `__typename`. */
  shape: Shape | undefined;
  /** `__typename`'s answer: the object's runtime type, or the type it is read as when the event names none. */
  typename: string | undefined;
}

interface Compilation {
  schema: Schema;
  /** The coerced variables over the operation's defaults, as result shaping reads them. */
  variables: Record<string, unknown>;
  /** Set once an `@include`/`@skip` condition is read from `variables`: the shapes then hold for these alone. */
  readVariable: boolean;
  /**
   * Each shape compiled, by its type and selection sets: an object's fields are compiled for every
   * type its `__typename` may name and for none, so without this a selection would be compiled
   * twice more at each level it nests (2^15 times at the depth limit).
   */
  shapes: Map<string, Shape | undefined>;
  selectionSetIds: Map<SelectionSet, number>;
}

/**
 * The projector for one subscription, or `undefined` when it has none: its plan fetches from more
 * than the primary subgraph or rewrites what the primary answers, or its operation uses what the
 * projector does not model (a directive other than `@include`/`@skip`, introspection, an
 * `@include`/`@skip` condition that is not a boolean).
 *
 * What it is compiled from is compiled once per API schema, document and operation name (the
 * transports hand the same parsed document to every subscription with the same text): reading the
 * operation over the schema cost the gateway half a millisecond of each `chat` subscription. Only an
 * operation whose `@include`/`@skip` reads a variable is compiled again for each subscription's variables.
 */
export function compileEventProjection(
  apiSchema: Schema,
  document: DocumentNode,
  operationName: string | undefined,
  variables: Record<string, unknown>,
  subscription: SubscriptionNode,
): EventProjection | undefined {
  if (!servedByPrimaryAlone(subscription)) return undefined;
  const compiled = compiledOperation(apiSchema, document, operationName);
  if (!compiled) return undefined;
  const root = compiled.variableFree
    ? compiled.root
    : compileRoot(apiSchema, compiled.operation, variables).root;
  if (!root) return undefined;
  return (event) => {
    if (event.errors !== undefined || !isRecord(event.data)) return undefined;
    const data = projectObject(root, event.data);
    return data === UNSURE ? undefined : { data: data as ExecutionResult['data'] };
  };
}

/** An operation read over the API schema, and its root shape when no variable decides it. */
interface CompiledOperation {
  operation: Operation;
  /** Whether `root` holds for any variables: no `@include`/`@skip` read one. */
  variableFree: boolean;
  root: ObjectShape | undefined;
}

/** Per API schema: per document (as long as it lives), each operation name's compilation. */
const compiledOperations = new WeakMap<
  Schema,
  (document: DocumentNode) => Map<string, CompiledOperation | null>
>();

/** `null` (remembered too) when the operation does not read over the schema. */
function compiledOperation(
  apiSchema: Schema,
  document: DocumentNode,
  operationName: string | undefined,
): CompiledOperation | null {
  let byDocument = compiledOperations.get(apiSchema);
  if (!byDocument) compiledOperations.set(apiSchema, (byDocument = oncePerDocument(() => new Map())));
  const byName = byDocument(document);
  const key = operationName ?? '';
  if (!byName.has(key)) byName.set(key, compileOperation(apiSchema, document, operationName));
  return byName.get(key) as CompiledOperation | null;
}

function compileOperation(
  apiSchema: Schema,
  document: DocumentNode,
  operationName: string | undefined,
): CompiledOperation | null {
  let operation: Operation;
  try {
    operation = operationFromDocument(apiSchema, document, { operationName, validate: false });
  } catch {
    return null;
  }
  const { root, readVariable } = compileRoot(apiSchema, operation, {});
  return { operation, variableFree: !readVariable, root };
}

function compileRoot(
  apiSchema: Schema,
  operation: Operation,
  variables: Record<string, unknown>,
): { root: ObjectShape | undefined; readVariable: boolean } {
  const rootType = apiSchema.schemaDefinition.rootType(operation.rootKind);
  if (!rootType) return { root: undefined, readVariable: false };
  const compilation: Compilation = {
    schema: apiSchema,
    variables: { ...operation.collectDefaultedVariableValues(), ...variables },
    readVariable: false,
    shapes: new Map(),
    selectionSetIds: new Map(),
  };
  const root = compileObjectShape(compilation, rootType, [operation.selectionSet], false);
  return { root, readVariable: compilation.readVariable };
}

/** No entity fetch follows the primary, and the primary's answer is used as it comes. */
function servedByPrimaryAlone({ primary, rest }: SubscriptionNode): boolean {
  return (
    rest === undefined &&
    primary.requires === undefined &&
    !primary.inputRewrites?.length &&
    !primary.outputRewrites?.length &&
    !primary.contextRewrites?.length
  );
}

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

function projectValue(shape: Shape, value: unknown): unknown {
  // A missing value (undefined) is read as null by result shaping; a null under non-null bubbles up.
  if (value === undefined) return UNSURE;
  if (value === null) return shape.nullable ? null : UNSURE;
  switch (shape.kind) {
    case 'leaf':
      return isKeptLeaf(shape, value) ? value : UNSURE;
    case 'list':
      return projectList(shape, value);
    case 'object':
      return projectObject(shape, value);
  }
}

/** Whether result shaping keeps a leaf value as it is (otherwise it nulls it and reports it). */
function isKeptLeaf({ check, schema }: LeafShape, value: unknown): boolean {
  if (check === 'string') return typeof value === 'string';
  if (check === 'boolean') return typeof value === 'boolean';
  return isValidLeafValue(schema, value, check);
}

function projectList({ item }: ListShape, value: unknown): unknown {
  if (!Array.isArray(value)) return UNSURE;
  const projected = new Array<unknown>(value.length);
  for (let index = 0; index < value.length; index += 1) {
    const element = projectValue(item, value[index]);
    if (element === UNSURE) return UNSURE;
    projected[index] = element;
  }
  return projected;
}

function projectObject({ untyped, byTypename }: ObjectShape, value: unknown): unknown {
  if (!isRecord(value)) return UNSURE;
  const typename = value[typenameFieldName];
  const entries =
    typename === undefined ? untyped : typeof typename === 'string' ? byTypename.get(typename) : undefined;
  if (!entries) return UNSURE;
  const projected: Record<string, unknown> = Object.create(null);
  for (const { responseName, ownOnly, shape, typename: answer } of entries) {
    const field = ownOnly && !Object.hasOwn(value, responseName) ? undefined : value[responseName];
    // `__typename` (or an alias of it, read from its own key first) is vouched for when the event agrees.
    const copied = shape
      ? projectValue(shape, field)
      : field === undefined || field === null || field === answer
        ? answer
        : UNSURE;
    if (copied === UNSURE) return UNSURE;
    projected[responseName] = copied;
  }
  return projected;
}

/** The shape of a value of `type`, compiled once for the same type and selection sets. */
function compiledShape(
  compilation: Compilation,
  type: Type,
  selectionSets: readonly SelectionSet[],
): Shape | undefined {
  const { shapes, selectionSetIds } = compilation;
  const ids = selectionSets.map((selectionSet) => {
    const id = selectionSetIds.get(selectionSet) ?? selectionSetIds.size;
    selectionSetIds.set(selectionSet, id);
    return id;
  });
  const key = `${type.toString()} ${ids.join(',')}`;
  if (!shapes.has(key)) shapes.set(key, compileShape(compilation, type, selectionSets));
  return shapes.get(key);
}

/** The shape of a value of `type`; `undefined` when the projection does not model it. */
function compileShape(
  compilation: Compilation,
  type: Type,
  selectionSets: readonly SelectionSet[],
  nullable = true,
): Shape | undefined {
  if (isNonNullType(type)) return compileShape(compilation, type.ofType, selectionSets, false);
  if (isListType(type)) {
    const item = compileShape(compilation, type.ofType, selectionSets);
    return item && { kind: 'list', nullable, item };
  }
  if (isCompositeType(type)) return compileObjectShape(compilation, type, selectionSets, nullable);
  const { schema } = compilation;
  const leaf = type as ScalarType | EnumType;
  const check = leaf === schema.stringType() ? 'string' : leaf === schema.booleanType() ? 'boolean' : leaf;
  return { kind: 'leaf', nullable, check, schema };
}

function compileObjectShape(
  compilation: Compilation,
  type: CompositeType,
  selectionSets: readonly SelectionSet[],
  nullable: boolean,
): ObjectShape | undefined {
  const byTypename = new Map<string, Entry[]>();
  for (const runtimeType of possibleRuntimeTypes(type)) {
    const entries = compileEntries(compilation, selectionSets, runtimeType, runtimeType);
    if (entries) byTypename.set(runtimeType.name, entries);
  }
  const untyped = isObjectType(type)
    ? compileEntries(compilation, selectionSets, type, undefined)
    : undefined;
  if (byTypename.size === 0 && !untyped) return undefined;
  return { kind: 'object', nullable, untyped, byTypename };
}

/** A field selected under one response name, merged from every selection of it that applies. */
type Draft =
  | { kind: 'typename'; name: string }
  | { kind: 'field'; type: Type; selectionSets: SelectionSet[] };

function compileEntries(
  compilation: Compilation,
  selectionSets: readonly SelectionSet[],
  parentType: CompositeType,
  runtimeType: ObjectType | undefined,
): Entry[] | undefined {
  const drafts = new Map<string, Draft>();
  for (const selectionSet of selectionSets) {
    if (!collect(compilation, selectionSet, parentType, runtimeType, drafts)) return undefined;
  }
  const entries: Entry[] = [];
  for (const [responseName, draft] of drafts) {
    const ownOnly = responseName in Object.prototype;
    if (draft.kind === 'typename') {
      entries.push({ responseName, ownOnly, shape: undefined, typename: draft.name });
      continue;
    }
    const shape = compiledShape(compilation, draft.type, draft.selectionSets);
    if (!shape) return undefined;
    entries.push({ responseName, ownOnly, shape, typename: undefined });
  }
  return entries;
}

/**
 * Gathers, in result shaping's order, the fields a selection set yields for an object whose
 * `__typename` names `runtimeType` (or, naming none, read as `parentType`). False when it meets
 * what the projector does not model.
 */
function collect(
  compilation: Compilation,
  selectionSet: SelectionSet,
  parentType: CompositeType,
  runtimeType: ObjectType | undefined,
  drafts: Map<string, Draft>,
): boolean {
  for (const selection of selectionSet.selections()) {
    const skipped = isSkipped(compilation, selection);
    if (skipped === undefined) return false;
    if (skipped) continue;
    if (selection.kind === 'FieldSelection') {
      const field = selection.element;
      if (field.definition.isSchemaIntrospectionField()) return false;
      const responseName = field.responseName();
      const drafted = drafts.get(responseName);
      if (field.name === typenameFieldName) {
        if (drafted?.kind === 'field') return false;
        if (drafted) continue;
        // Result shaping answers the type the object is read as, which must be an object type.
        const type = runtimeType ?? parentType;
        if (!isObjectType(type)) return false;
        drafts.set(responseName, { kind: 'typename', name: type.name });
        continue;
      }
      const type = field.definition.type;
      if (!type) return false;
      const subSelection = selection.selectionSet ? [selection.selectionSet] : [];
      if (!drafted) {
        drafts.set(responseName, { kind: 'field', type, selectionSets: subSelection });
        continue;
      }
      if (drafted.kind !== 'field' || drafted.type.toString() !== type.toString()) return false;
      drafted.selectionSets.push(...subSelection);
      continue;
    }
    const condition = selection.element.typeCondition;
    if (condition && !isSubtype(condition, runtimeType ?? parentType)) continue;
    if (!collect(compilation, selection.selectionSet, condition ?? parentType, runtimeType, drafts))
      return false;
  }
  return true;
}

/** `@skip`/`@include` with the subscription's variables; `undefined` for any other directive or a non-boolean condition. */
function isSkipped(compilation: Compilation, selection: Selection): boolean | undefined {
  let skipped = false;
  for (const directive of selection.element.appliedDirectives) {
    if (directive.name !== 'skip' && directive.name !== 'include') return undefined;
    const condition: unknown = directive.arguments().if;
    if (condition instanceof Variable) compilation.readVariable = true;
    const value = condition instanceof Variable ? compilation.variables[condition.name] : condition;
    if (typeof value !== 'boolean') return undefined;
    if (value === (directive.name === 'skip')) skipped = true;
  }
  return skipped;
}
