import { type DocumentNode, type FieldDefinitionNode, Kind, parse } from 'graphql';
import { combine, type Requirement, requirementOfDirectives } from './authorization';

/** `Type` and `Type.field` → what their `@authenticated`/`@requiresScopes` ask of the caller. */
export type AccessRules = ReadonlyMap<string, Requirement>;

const TYPE_KINDS = new Set<Kind>([
  Kind.OBJECT_TYPE_DEFINITION,
  Kind.OBJECT_TYPE_EXTENSION,
  Kind.INTERFACE_TYPE_DEFINITION,
  Kind.INTERFACE_TYPE_EXTENSION,
]);

/** The access rules of an SDL document (the composed supergraph, where composition put them). */
export function accessRulesOf(sdl: string | DocumentNode): Map<string, Requirement> {
  const document = typeof sdl === 'string' ? parse(sdl) : sdl;
  const rules = new Map<string, Requirement>();
  const add = (key: string, requirement: Requirement | null) => {
    const rule = combine(rules.get(key) ?? null, requirement);
    if (rule) rules.set(key, rule);
  };
  for (const definition of document.definitions) {
    if (!TYPE_KINDS.has(definition.kind) || !('fields' in definition)) continue;
    const typeName = definition.name.value;
    add(typeName, requirementOfDirectives(definition.directives ?? [], typeName));
    for (const field of (definition.fields ?? []) as readonly FieldDefinitionNode[]) {
      const key = `${typeName}.${field.name.value}`;
      add(key, requirementOfDirectives(field.directives ?? [], key));
    }
  }
  return rules;
}

/** A field's requirement: its own and its type's (a directive on a type covers every field of it). */
export const requirementOfField = (rules: AccessRules, typeName: string, fieldName: string) =>
  combine(rules.get(typeName) ?? null, rules.get(`${typeName}.${fieldName}`) ?? null);
