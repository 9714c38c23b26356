import { type DocumentNode, getOperationAST, GraphQLError, type GraphQLSchema } from 'graphql';
import { env } from '../config/load-config';
import { badRequest, type ErrorCode, toGraphQLError } from '../errors/errors';
import type { ListSizes } from './list-size';
import { fragmentsOf, measureOperation } from './operation-shape';

/**
 * What one operation may ask for. The gateway refuses past these before planning; each subgraph
 * refuses on its own what the gateway would (common/server/subgraph-guard.ts), so a request that reaches
 * a subgraph some other way meets the same bounds.
 */
export interface OperationLimits {
  maxDepth: number;
  maxAliases: number;
  /** Tokens in the document; the parser stops at this many, so a huge document costs little. */
  maxTokens: number;
  /** The estimated cost (common/graphql/operation-shape.ts). */
  maxCost: number;
  /** An integer slicing argument (`first`, `last`) above this counts as this much in the cost. */
  listSizeCap: number;
  /** Largest response, measured as its JSON; a bigger one is replaced by a refusal. */
  maxResponseBytes: number;
}

export const DEFAULT_OPERATION_LIMITS: OperationLimits = {
  maxDepth: 15,
  maxAliases: 30,
  maxTokens: 4000,
  maxCost: 20_000,
  listSizeCap: 100,
  maxResponseBytes: 10 * 1024 * 1024,
};

/** The limits' variables, read by every service (docs/gateway.md). */
export const operationLimitsEnv = {
  MAX_DEPTH: env.int(DEFAULT_OPERATION_LIMITS.maxDepth, 1),
  MAX_ALIASES: env.int(DEFAULT_OPERATION_LIMITS.maxAliases),
  MAX_TOKENS: env.int(DEFAULT_OPERATION_LIMITS.maxTokens, 10),
  /** Estimated cost: each field 1, times the size of every list above it. */
  MAX_COST: env.int(DEFAULT_OPERATION_LIMITS.maxCost, 1),
  /** `first`/`last` values above this count as this much in the cost estimate. */
  COST_LIST_SIZE_CAP: env.int(DEFAULT_OPERATION_LIMITS.listSizeCap, 1),
  /** Largest response, as JSON; a bigger one is answered with a refusal instead. */
  MAX_RESPONSE_BYTES: env.int(DEFAULT_OPERATION_LIMITS.maxResponseBytes, 1024),
};

type LimitsConfig = { [K in keyof typeof operationLimitsEnv]: number };

export const operationLimitsFrom = (config: LimitsConfig): OperationLimits => ({
  maxDepth: config.MAX_DEPTH,
  maxAliases: config.MAX_ALIASES,
  maxTokens: config.MAX_TOKENS,
  maxCost: config.MAX_COST,
  listSizeCap: config.COST_LIST_SIZE_CAP,
  maxResponseBytes: config.MAX_RESPONSE_BYTES,
});

/** The code of every operation-limit refusal; `extensions.limit` says which limit. */
export const LIMIT_EXCEEDED_CODE: ErrorCode = 'GRAPHQL_VALIDATION_FAILED';

/** An operation refused for a limit: the limit's name and its maximum are in `extensions`. */
export const limitExceeded = (limit: string, max: number, message: string): GraphQLError =>
  new GraphQLError(message, { extensions: { code: LIMIT_EXCEEDED_CODE, limit, max } });

/** The refusal of a document with more than `maxTokens` tokens, wherever it arrives. */
export const tokenLimitRefusal = (maxTokens: number) =>
  limitExceeded('tokens', maxTokens, `The document has more than ${maxTokens} tokens`);

/**
 * The first limit an operation passes (root fields, when given, then depth, aliases and cost),
 * as a refusal; undefined when it is within all of them.
 */
export function checkOperationLimits(
  schema: GraphQLSchema,
  listSizes: ListSizes,
  document: DocumentNode,
  operationName: string | null | undefined,
  variables: Readonly<Record<string, unknown>> | null | undefined,
  limits: Omit<OperationLimits, 'maxTokens' | 'maxResponseBytes'> & { maxRootFields?: number },
): GraphQLError | undefined {
  const operation = getOperationAST(document, operationName);
  if (!operation) return undefined;
  const shape = measureOperation(schema, fragmentsOf(document), operation, variables ?? {}, {
    listSizes,
    listSizeCap: limits.listSizeCap,
  });
  const rootFields = [...shape.rootFields.values()].reduce((sum, times) => sum + times, 0);
  if (limits.maxRootFields !== undefined && rootFields > limits.maxRootFields)
    return limitExceeded('rootFields', limits.maxRootFields, `At most ${limits.maxRootFields} root fields`);
  if (shape.depth > limits.maxDepth)
    return limitExceeded('depth', limits.maxDepth, `The operation is nested deeper than ${limits.maxDepth}`);
  if (shape.aliases > limits.maxAliases)
    return limitExceeded('aliases', limits.maxAliases, `At most ${limits.maxAliases} aliases`);
  if (shape.cost > limits.maxCost)
    return limitExceeded(
      'cost',
      limits.maxCost,
      `The operation's estimated cost ${shape.cost} is above ${limits.maxCost}`,
    );
  return undefined;
}

/**
 * Whether a value's JSON encoding is longer than `maxBytes`, found by walking it and stopping as
 * soon as it is: no string of the whole is built, and a huge value costs no more than the bound.
 * Strings are counted in UTF-8 bytes, without escapes (a slight underestimate at worst). A value far
 * under the bound (a subscription's event, most responses) is settled by a first walk that counts
 * every character as three bytes, the most UTF-8 takes for one, without measuring any string.
 */
export function jsonLongerThan(value: unknown, maxBytes: number): boolean {
  return jsonSizeAbove(value, maxBytes, atMostBytes) && jsonSizeAbove(value, maxBytes, Buffer.byteLength);
}

/** UTF-8 takes at most three bytes for each UTF-16 unit (a surrogate pair, four for two). */
const atMostBytes = (text: string) => text.length * 3;

function jsonSizeAbove(value: unknown, maxBytes: number, stringBytes: (text: string) => number): boolean {
  let bytes = 0;
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const next = stack.pop();
    if (typeof next === 'string') bytes += stringBytes(next) + 2;
    else if (next === null || typeof next !== 'object') bytes += String(next).length;
    else if (Array.isArray(next)) {
      bytes += 1 + next.length;
      for (const item of next) stack.push(item);
    } else {
      const object = next as Record<string, unknown>;
      for (const key of Object.keys(object)) {
        const item = object[key];
        if (item === undefined) continue;
        bytes += stringBytes(key) + 4;
        stack.push(item);
      }
      bytes += 2;
    }
    if (bytes > maxBytes) return true;
  }
  return false;
}

/** The refusal of a response larger than the bound: the client asked for too much. */
export const responseTooLarge = (maxBytes: number) =>
  toGraphQLError(
    badRequest(`The response would be larger than ${maxBytes} bytes; ask for less (a smaller page)`, {
      limit: 'responseSize',
      max: maxBytes,
    }),
  );
