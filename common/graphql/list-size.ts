import {
  type ConstDirectiveNode,
  type DocumentNode,
  type FieldDefinitionNode,
  getNamedType,
  getNullableType,
  type GraphQLSchema,
  isInterfaceType,
  isListType,
  isObjectType,
  Kind,
  parse,
  valueFromASTUntyped,
} from 'graphql';
import { Directive } from 'type-graphql';

/**
 * How many items a list field returns at most, as Apollo Federation's `@listSize` (IBM's GraphQL
 * cost directive) declares it. The cost estimate (operation-shape.ts) multiplies by it, and the
 * field's resolver must enforce it.
 */
export interface ListSize {
  /** The size when no slicing argument is given (or the field has none). */
  assumedSize?: number;
  /** Arguments whose value is the size: an integer (`first: 20`), or a list's length (`representations`). */
  slicingArguments?: readonly string[];
  /** Lists of the returned object that the size applies to, instead of the field itself (a connection's `edges`). */
  sizedFields?: readonly string[];
}

/** `Type.field` → its size. */
export type ListSizes = ReadonlyMap<string, ListSize>;

export const fieldKey = (typeName: string, fieldName: string) => `${typeName}.${fieldName}`;

const printList = (values: readonly string[]) =>
  `[${values.map((value) => JSON.stringify(value)).join(', ')}]`;

/**
 * `@listSize` on a type-graphql field: the bound the cost estimate assumes for it. The
 * resolver must keep to it (a page size checked, a query with a LIMIT).
 */
export function ListSizeDirective(size: ListSize): PropertyDecorator & MethodDecorator {
  const args = [
    size.assumedSize !== undefined ? `assumedSize: ${size.assumedSize}` : undefined,
    size.slicingArguments ? `slicingArguments: ${printList(size.slicingArguments)}` : undefined,
    size.sizedFields ? `sizedFields: ${printList(size.sizedFields)}` : undefined,
    // A field may be given any one of its slicing arguments, or none (then assumedSize).
    size.slicingArguments ? 'requireOneSlicingArgument: false' : undefined,
  ].filter((arg) => arg !== undefined);
  return Directive(`@listSize(${args.join(', ')})`);
}

function listSizeOf(directive: ConstDirectiveNode): ListSize {
  const size: { -readonly [K in keyof ListSize]: ListSize[K] } = {};
  for (const argument of directive.arguments ?? []) {
    const value: unknown = valueFromASTUntyped(argument.value);
    if (argument.name.value === 'assumedSize' && typeof value === 'number') size.assumedSize = value;
    if (argument.name.value === 'slicingArguments' && Array.isArray(value))
      size.slicingArguments = value as string[];
    if (argument.name.value === 'sizedFields' && Array.isArray(value)) size.sizedFields = value as string[];
  }
  return size;
}

/** The `@listSize` of every field of an SDL document (a subgraph's, or the composed supergraph). */
export function listSizesOf(sdl: string | DocumentNode): Map<string, ListSize> {
  const document = typeof sdl === 'string' ? parse(sdl) : sdl;
  const sizes = new Map<string, ListSize>();
  for (const definition of document.definitions) {
    if (
      definition.kind !== Kind.OBJECT_TYPE_DEFINITION &&
      definition.kind !== Kind.OBJECT_TYPE_EXTENSION &&
      definition.kind !== Kind.INTERFACE_TYPE_DEFINITION &&
      definition.kind !== Kind.INTERFACE_TYPE_EXTENSION
    )
      continue;
    for (const field of (definition.fields ?? []) as readonly FieldDefinitionNode[]) {
      const directive = field.directives?.find((d) => d.name.value === 'listSize');
      if (directive) sizes.set(fieldKey(definition.name.value, field.name.value), listSizeOf(directive));
    }
  }
  return sizes;
}

/**
 * List fields whose size the cost estimate would not know: neither a `@listSize` of their own
 * (an assumed size or slicing arguments) nor sized by every field that returns their type
 * (`sizedFields`). Introspection types aside: their size is the schema's own.
 */
export function unsizedListFields(schema: GraphQLSchema, sizes: ListSizes): string[] {
  const types = Object.values(schema.getTypeMap()).filter(
    (type) => (isObjectType(type) || isInterfaceType(type)) && !type.name.startsWith('__'),
  );
  const fieldsOf = (type: (typeof types)[number]) =>
    isObjectType(type) || isInterfaceType(type) ? Object.values(type.getFields()) : [];
  // For each type, the fields that every field returning it sizes.
  const sizedByParents = new Map<string, Set<string>>();
  for (const type of types) {
    for (const field of fieldsOf(type)) {
      const target = getNamedType(field.type).name;
      const sized = new Set(sizes.get(fieldKey(type.name, field.name))?.sizedFields ?? []);
      const known = sizedByParents.get(target);
      sizedByParents.set(target, known ? new Set([...known].filter((name) => sized.has(name))) : sized);
    }
  }
  const unsized: string[] = [];
  for (const type of types) {
    for (const field of fieldsOf(type)) {
      if (!isListType(getNullableType(field.type))) continue;
      const own = sizes.get(fieldKey(type.name, field.name));
      const sizedItself = own?.assumedSize !== undefined || (own?.slicingArguments?.length ?? 0) > 0;
      if (!sizedItself && !sizedByParents.get(type.name)?.has(field.name))
        unsized.push(fieldKey(type.name, field.name));
    }
  }
  return unsized;
}
