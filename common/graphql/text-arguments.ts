import {
  defaultFieldResolver,
  type GraphQLArgument,
  type GraphQLFieldResolver,
  GraphQLID,
  type GraphQLInputType,
  type GraphQLNamedInputType,
  type GraphQLSchema,
  GraphQLString,
  getNamedType,
  isEnumType,
  isInputObjectType,
  isListType,
  isNonNullType,
  isObjectType,
  isScalarType,
} from 'graphql';
import { assertText } from './text-input';

/**
 * The schema coordinates (`Type.field(arg:)`, `InputType.field`) of text that may span lines;
 * any other text argument must be a single line.
 */
export type MultilineText = readonly string[];

const BUILT_IN_NON_TEXT = new Set(['Int', 'Float', 'Boolean']);

/** Every string inside a value of a scalar the schema cannot see into (`_Any`, JSON). */
function checkOpaque(value: unknown, field: string): void {
  if (typeof value === 'string') assertText(value, field, { lineBreaks: false });
  else if (Array.isArray(value)) for (const item of value) checkOpaque(item, field);
  else if (value !== null && typeof value === 'object')
    for (const member of Object.values(value)) checkOpaque(member, field);
}

/** Whether values of this type can hold text at all (so a field with no such argument is left as is). */
function holdsText(type: GraphQLNamedInputType, seen = new Set<string>()): boolean {
  if (isEnumType(type) || seen.has(type.name)) return false;
  if (isScalarType(type)) return !BUILT_IN_NON_TEXT.has(type.name);
  seen.add(type.name);
  return Object.values(type.getFields()).some((field) => holdsText(getNamedType(field.type), seen));
}

class TextChecker {
  constructor(private readonly multiline: ReadonlySet<string>) {}

  check(value: unknown, type: GraphQLInputType, field: string, lineBreaks: boolean): void {
    if (value === null || value === undefined) return;
    if (isNonNullType(type)) return this.check(value, type.ofType, field, lineBreaks);
    if (isListType(type)) {
      for (const item of value as unknown[]) this.check(item, type.ofType, field, lineBreaks);
      return;
    }
    if (isInputObjectType(type)) {
      for (const member of Object.values(type.getFields())) {
        const coordinate = `${type.name}.${member.name}`;
        this.check(
          (value as Record<string, unknown>)[member.name],
          member.type,
          member.name,
          this.multiline.has(coordinate),
        );
      }
      return;
    }
    if (type === GraphQLString || type === GraphQLID) {
      if (typeof value === 'string') assertText(value, field, { lineBreaks });
      return;
    }
    if (isScalarType(type) && !BUILT_IN_NON_TEXT.has(type.name)) checkOpaque(value, field);
  }

  guard(
    resolver: GraphQLFieldResolver<unknown, unknown>,
    args: readonly GraphQLArgument[],
    coordinate: string,
  ): GraphQLFieldResolver<unknown, unknown> {
    const rules = args.map((arg) => ({ arg, lineBreaks: this.multiline.has(`${coordinate}(${arg.name}:)`) }));
    return (source, values, context, info) => {
      for (const { arg, lineBreaks } of rules) this.check(values[arg.name], arg.type, arg.name, lineBreaks);
      return resolver(source, values, context, info);
    };
  }
}

/**
 * Refuses control characters and lone surrogates in every text argument of every field, nested
 * input fields and opaque scalars (`_Any` representations) included, with BAD_USER_INPUT naming
 * the argument or input field, before any resolver or store sees the value
 * (docs/security.md#input). The schema is changed in place, as enforceAuthorization does;
 * subscriptions are checked when they start, not for every event.
 */
export function guardTextArguments(schema: GraphQLSchema, multiline: MultilineText = []): GraphQLSchema {
  const known = new Set<string>();
  const checker = new TextChecker(new Set(multiline));
  const subscriptionType = schema.getSubscriptionType();
  for (const type of Object.values(schema.getTypeMap())) {
    if (type.name.startsWith('__')) continue;
    if (isInputObjectType(type))
      for (const field of Object.values(type.getFields())) known.add(`${type.name}.${field.name}`);
    if (!isObjectType(type)) continue;
    for (const field of Object.values(type.getFields())) {
      const coordinate = `${type.name}.${field.name}`;
      for (const arg of field.args) known.add(`${coordinate}(${arg.name}:)`);
      if (!field.args.some((arg) => holdsText(getNamedType(arg.type)))) continue;
      if (type === subscriptionType && field.subscribe) {
        field.subscribe = checker.guard(field.subscribe, field.args, coordinate);
      } else {
        field.resolve = checker.guard(field.resolve ?? defaultFieldResolver, field.args, coordinate);
      }
    }
  }
  const unknown = multiline.filter((coordinate) => !known.has(coordinate));
  if (unknown.length > 0)
    throw new Error(`Multi-line text names no argument or input field: ${unknown.join(', ')}`);
  return schema;
}
