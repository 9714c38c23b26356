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

/** What a value projector answers when it cannot vouch for the value: the event goes through the plan. */
const UNSURE = Symbol('unsure');
type ValueProjector = (value: unknown) => unknown;

interface Compilation {
  schema: Schema;
  /** The coerced variables over the operation's defaults, as result shaping reads them. */
  variables: Record<string, unknown>;
}

/**
 * The projector for one subscription, or `undefined` when it has none: its plan fetches from more
 * than the primary subgraph or rewrites what the primary answers, or its operation uses what the
 * projector does not model (a directive other than `@include`/`@skip`, introspection, an
 * `@include`/`@skip` condition that is not a boolean).
 */
export function compileEventProjection(
  apiSchema: Schema,
  document: DocumentNode,
  operationName: string | undefined,
  variables: Record<string, unknown>,
  subscription: SubscriptionNode,
): EventProjection | undefined {
  if (!servedByPrimaryAlone(subscription)) return undefined;
  let operation: Operation;
  try {
    operation = operationFromDocument(apiSchema, document, { operationName, validate: false });
  } catch {
    return undefined;
  }
  const rootType = apiSchema.schemaDefinition.rootType(operation.rootKind);
  if (!rootType) return undefined;
  const compilation: Compilation = {
    schema: apiSchema,
    variables: { ...operation.collectDefaultedVariableValues(), ...variables },
  };
  const root = compileComposite(compilation, rootType, [operation.selectionSet]);
  if (!root) return undefined;
  return (event) => {
    if (event.errors !== undefined || !isRecord(event.data)) return undefined;
    const data = root(event.data);
    return data === UNSURE ? undefined : { data: data as ExecutionResult['data'] };
  };
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

/** A value of `type`: its nullability, then its list, leaf or object shape. */
function compileValue(
  compilation: Compilation,
  type: Type,
  selectionSets: readonly SelectionSet[],
): ValueProjector | undefined {
  const nonNull = isNonNullType(type);
  const inner = compileNonNullValue(compilation, nonNull ? type.ofType : type, selectionSets);
  if (!inner) return undefined;
  // A missing value (undefined) is read as null by result shaping; a null under non-null bubbles up.
  if (nonNull) return (value) => (value === undefined || value === null ? UNSURE : inner(value));
  return (value) => (value === undefined ? UNSURE : value === null ? null : inner(value));
}

function compileNonNullValue(
  compilation: Compilation,
  type: Type,
  selectionSets: readonly SelectionSet[],
): ValueProjector | undefined {
  if (isListType(type)) {
    const item = compileValue(compilation, type.ofType, selectionSets);
    if (!item) return undefined;
    return (value) => {
      if (!Array.isArray(value)) return UNSURE;
      const projected = new Array<unknown>(value.length);
      for (let index = 0; index < value.length; index += 1) {
        const element = item(value[index]);
        if (element === UNSURE) return UNSURE;
        projected[index] = element;
      }
      return projected;
    };
  }
  if (isCompositeType(type)) return compileComposite(compilation, type, selectionSets);
  const valid = leafValidity(compilation.schema, type as ScalarType | EnumType);
  return (value) => (valid(value) ? value : UNSURE);
}

/** Whether result shaping keeps a leaf value as it is (otherwise it nulls it and reports it). */
function leafValidity(schema: Schema, type: ScalarType | EnumType): (value: unknown) => boolean {
  // The two types of most fields checked inline; the rest exactly as result shaping checks them.
  if (type === schema.stringType()) return (value) => typeof value === 'string';
  if (type === schema.booleanType()) return (value) => typeof value === 'boolean';
  return (value) => isValidLeafValue(schema, value, type);
}

type ObjectProjector = (input: Record<string, unknown>) => unknown;

/**
 * An object of the declared `type`: result shaping reads the selections against the type its
 * `__typename` names (any of the declared type's possible types), or against the declared type
 * when it has none. One projector is compiled for each; any other `__typename` is not vouched for.
 */
function compileComposite(
  compilation: Compilation,
  type: CompositeType,
  selectionSets: readonly SelectionSet[],
): ValueProjector | undefined {
  const byTypename = new Map<string, ObjectProjector>();
  for (const runtimeType of possibleRuntimeTypes(type)) {
    const projector = compileObject(compilation, selectionSets, runtimeType, runtimeType);
    if (projector) byTypename.set(runtimeType.name, projector);
  }
  const untyped = isObjectType(type) ? compileObject(compilation, selectionSets, type, undefined) : undefined;
  if (byTypename.size === 0 && !untyped) return undefined;
  return (value) => {
    if (!isRecord(value)) return UNSURE;
    const typename = value[typenameFieldName];
    const projector =
      typename === undefined ? untyped : typeof typename === 'string' ? byTypename.get(typename) : undefined;
    return projector ? projector(value) : UNSURE;
  };
}

/** One key of the result object, with what it is read from in the event and how it is copied. */
interface Entry {
  responseName: string;
  /** The key is also a property of Object.prototype, so only an own property of the event is read. */
  ownOnly: boolean;
  project: ValueProjector;
}

/** A field selected under one response name, merged from every selection of it that applies. */
type Draft =
  | { kind: 'typename'; project: ValueProjector }
  | { kind: 'field'; type: Type; selectionSets: SelectionSet[] };

function compileObject(
  compilation: Compilation,
  selectionSets: readonly SelectionSet[],
  parentType: CompositeType,
  runtimeType: ObjectType | undefined,
): ObjectProjector | undefined {
  const drafts = new Map<string, Draft>();
  for (const selectionSet of selectionSets) {
    if (!collect(compilation, selectionSet, parentType, runtimeType, drafts)) return undefined;
  }
  const entries: Entry[] = [];
  for (const [responseName, draft] of drafts) {
    const project =
      draft.kind === 'typename' ? draft.project : compileValue(compilation, draft.type, draft.selectionSets);
    if (!project) return undefined;
    entries.push({ responseName, ownOnly: responseName in Object.prototype, project });
  }
  return (input) => {
    const output: Record<string, unknown> = Object.create(null);
    for (const { responseName, ownOnly, project } of entries) {
      const value = ownOnly && !Object.hasOwn(input, responseName) ? undefined : input[responseName];
      const projected = project(value);
      if (projected === UNSURE) return UNSURE;
      output[responseName] = projected;
    }
    return output;
  };
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
        const project = typenameProjector(runtimeType ?? parentType, responseName);
        if (!project) return false;
        drafts.set(responseName, { kind: 'typename', project });
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

/**
 * `__typename`: the object's runtime type, or the type it is read as when the event names none.
 * An alias of it reads its own key first; the projector vouches only for a value that agrees.
 */
function typenameProjector(type: CompositeType, responseName: string): ValueProjector | undefined {
  if (!isObjectType(type)) return undefined;
  const name = type.name;
  if (responseName === typenameFieldName) return () => name;
  return (value) => (value === undefined || value === null || value === name ? name : UNSURE);
}

/** `@skip`/`@include` with the subscription's variables; `undefined` for any other directive or a non-boolean condition. */
function isSkipped(compilation: Compilation, selection: Selection): boolean | undefined {
  let skipped = false;
  for (const directive of selection.element.appliedDirectives) {
    if (directive.name !== 'skip' && directive.name !== 'include') return undefined;
    const condition: unknown = directive.arguments().if;
    const value = condition instanceof Variable ? compilation.variables[condition.name] : condition;
    if (typeof value !== 'boolean') return undefined;
    if (value === (directive.name === 'skip')) skipped = true;
  }
  return skipped;
}
