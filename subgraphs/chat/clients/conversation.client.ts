import { type Attributes, trace } from '@opentelemetry/api';
import type { Agent } from 'node:http';
import { z } from 'zod';
import { AppError, type ErrorCode, upstreamUnavailable } from '../../../common/errors/errors';
import { keepAliveAgent } from '../../../common/http/keep-alive-agent';
import { postOverAgent, type PostResponse } from '../../../common/http/post-request';
import { postAttributes, tracedHttpCall } from '../../../common/telemetry/client-span';
import {
  IDENTITY_HEADER,
  type Identity,
  operationDigest,
  signIdentity,
} from '../../../common/identity/identity';
import type { Logger } from '../../../common/logging/logger';
import { MAX_PAGE_SIZE } from '../../../common/graphql/pagination';
import { REQUEST_ID_HEADER } from '../../../common/server/request-id';
import type { SubgraphName } from '../../../common/config/topology';
import type { UserCaller } from '../../../common/identity/caller';
import type { MessageRole, MessageStatus, RecallHit, StoredMessage } from '../records/message.record';
import type { TurnContext } from '../records/turn-context.record';
import type { TurnRecall } from '../../../common/records/turn-recall.record';

export interface AppendMessageInput {
  /** null: a new conversation owned by the caller. */
  conversationId: string | null;
  /** null: under the conversation's active leaf. */
  parentId: string | null;
  /** A new root beside the conversation's first message (parentId null). */
  asRoot?: boolean;
  role: MessageRole;
  content: string;
  status?: MessageStatus;
  model?: string;
}

export interface TurnQuery {
  /** null: a first message, which will create its conversation. */
  conversationId: string | null;
  /** The message the history ends at; null: the conversation's active leaf. */
  leafId: string | null;
  historyLimit: number;
}

/** A user's message and the reply to be written under it (STREAMING, by `replyModel`), stored together. */
export interface AppendTurnInput {
  conversationId: string | null;
  /** null: under the conversation's active leaf. */
  parentId: string | null;
  asRoot?: boolean;
  content: string;
  replyModel: string;
}

/** A first message: no conversation yet, so nothing but the message and the reply's model. */
export type FirstTurnInput = Pick<AppendTurnInput, 'content' | 'replyModel'>;

/** A follow-up: a message at the active leaf of a conversation, and the reply's model. */
export type FollowUpTurnInput = Pick<AppendTurnInput, 'content' | 'replyModel'> & { conversationId: string };

/** What a follow-up is written against and read with. */
export interface FollowUpTurnTerms {
  /** The conversation's settings the reply was planned with, as `settingsKey` writes them. */
  expectedSettings: string;
  /** The most messages of the context's history, the user's message the last of them. */
  historyLimit: number;
}

/** A written turn: the user's message, the STREAMING reply, and the recall when one was asked for. */
export interface AppendedTurn {
  userMessage: StoredMessage;
  reply: StoredMessage;
  /** null: no recall was asked for; empty: none found, the owner's switch off, or the search failed or was late. */
  recalled: RecallHit[] | null;
}

export interface UpdateMessageInput {
  id: string;
  content?: string;
  status?: MessageStatus;
  promptTokens?: number;
  completionTokens?: number;
  /** Names the conversation if nobody has yet: a title its owner gave is kept. */
  conversationTitle?: string;
}

/**
 * The conversation subgraph, the source of truth for messages, as chat calls it: each call is made
 * for a signed-in user (the caller), whose ownership rules the conversation subgraph applies. Tests
 * about the generation engine alone use testing/memory-conversation-store.ts.
 */
export interface ConversationClient {
  /**
   * Everything a turn's prompt is built from, in one request: the conversation's settings, the
   * caller's instructions, memories and recall switch, and the history up to the leaf. A
   * conversation or message the caller does not own is NOT_FOUND, exactly as a missing one.
   */
  turnContext(caller: UserCaller, query: TurnQuery): Promise<TurnContext>;
  appendMessage(caller: UserCaller, input: AppendMessageInput): Promise<StoredMessage>;
  /**
   * The user's message and the STREAMING reply under it, in one transaction: both or neither; and
   * the recall asked for, if any, searched beside the write.
   */
  appendTurn(caller: UserCaller, input: AppendTurnInput, recall: TurnRecall | null): Promise<AppendedTurn>;
  /**
   * A first message (it creates its conversation) and the STREAMING reply under it, with the
   * turn's context (as `turnContext` answers for no conversation) read beside the write, in one
   * request. Should the read fail, the reply is marked FAILED and the call fails.
   */
  appendFirstTurn(
    caller: UserCaller,
    input: FirstTurnInput,
    recall: TurnRecall | null,
  ): Promise<AppendedTurn & { context: TurnContext }>;
  /**
   * A follow-up and the STREAMING reply under it, written only while the conversation's settings
   * are those the reply was planned with (else BAD_USER_INPUT on `expectedSettings`, nothing
   * written), with the turn's context read once it is written, in one request. Should the read
   * fail, the reply is marked FAILED and the call fails.
   */
  appendFollowUpTurn(
    caller: UserCaller,
    input: FollowUpTurnInput,
    terms: FollowUpTurnTerms,
    recall: TurnRecall | null,
  ): Promise<AppendedTurn & { context: TurnContext }>;
  /** Saves a checkpoint or the final state; nothing is read back (no caller needs the message again). */
  updateMessage(caller: UserCaller, input: UpdateMessageInput): Promise<void>;
  /** The branch from the root to `leafId`, oldest first, at most the newest `limit` messages. */
  messagePath(caller: UserCaller, leafId: string, limit: number): Promise<StoredMessage[]>;
  /** Messages like `query` from the caller's conversations other than the one excluded, best first. */
  recallMessages(
    caller: UserCaller,
    query: string,
    excludeConversationId: string | null,
    first: number,
  ): Promise<RecallHit[]>;
  /** Every message still STREAMING, whoever owns it (crash recovery). */
  streamingMessages(requestId: string): Promise<StoredMessage[]>;
  /**
   * Ends a STREAMING reply whose generation is lost as INTERRUPTED, whoever owns it, with the
   * content it has (crash recovery); a final message is left as it is.
   */
  interruptMessage(requestId: string, messageId: string): Promise<void>;
}

export interface ConversationClientOptions {
  url: string;
  identitySecret: string;
  timeoutMs: number;
  logger: Logger;
}

const MESSAGE_FIELDS = `id role content status createdAt conversation { id title } parent { id }
  promptTokens completionTokens model`;

const TURN_CONTEXT_FIELDS = `conversationId
  settings { model systemPrompt temperature topP maxOutputTokens recallEnabled instructionsEnabled }
  instructions { aboutMe howToAnswer }
  memories { id text }
  recallEnabled
  history { ${MESSAGE_FIELDS} }`;

const wireMessage = z
  .object({
    id: z.string(),
    role: z.enum(['USER', 'ASSISTANT', 'SYSTEM']),
    content: z.string(),
    status: z.enum(['COMPLETE', 'STREAMING', 'STOPPED', 'INTERRUPTED', 'FAILED']),
    createdAt: z.coerce.date(),
    conversation: z.object({ id: z.string(), title: z.string() }),
    parent: z.object({ id: z.string() }).nullable(),
    promptTokens: z.number().int().nullable(),
    completionTokens: z.number().int().nullable(),
    model: z.string().nullable(),
  })
  .transform(({ parent, ...message }): StoredMessage => ({ ...message, parentId: parent?.id ?? null }));

/** The conversation subgraph's name in the supergraph: the audience of the identities sent to it. */
const CONVERSATION_SUBGRAPH: SubgraphName = 'conversation';

/**
 * No bound of chat's own on its connections to the conversation subgraph, as with fetch before: a
 * call never waits for a connection, only for the subgraph (within the client's timeout).
 */
const MAX_CONNECTIONS = Infinity;

const tracer = trace.getTracer('llm-chat/chat');

const wireTurnContext = z.object({
  conversationId: z.string().nullable(),
  settings: z.object({
    model: z.string().nullable(),
    systemPrompt: z.string().nullable(),
    temperature: z.number().nullable(),
    topP: z.number().nullable(),
    maxOutputTokens: z.number().int().nullable(),
    recallEnabled: z.boolean(),
    instructionsEnabled: z.boolean(),
  }),
  instructions: z.object({ aboutMe: z.string(), howToAnswer: z.string() }).nullable(),
  memories: z.array(z.object({ id: z.string(), text: z.string() })),
  recallEnabled: z.boolean(),
  history: z.array(wireMessage),
});

/** A recall hit: only what a prompt uses (no parent, whose lookup would cost the subgraph a read). */
const RECALL_HIT_FIELDS = 'score message { id role content conversation { id title } }';

const wireRecallHit = z.object({
  score: z.number(),
  message: z.object({
    id: z.string(),
    role: z.enum(['USER', 'ASSISTANT', 'SYSTEM']),
    content: z.string(),
    conversation: z.object({ id: z.string(), title: z.string() }),
  }),
});

const APPENDED_TURN_FIELDS = `userMessage { ${MESSAGE_FIELDS} } reply { ${MESSAGE_FIELDS} }
  recalled { ${RECALL_HIT_FIELDS} }`;

const wireAppendedTurn = z.object({
  userMessage: wireMessage,
  reply: wireMessage,
  recalled: z.array(wireRecallHit).nullable(),
});

/** Built once: zod compiles a schema on its first parse, which a schema made per call pays every time. */
const wireAppendedTurnWithContext = wireAppendedTurn.extend({ context: wireTurnContext });
const wireMessages = z.array(wireMessage);
const wireRecallHits = z.array(wireRecallHit);

/**
 * Codes the conversation subgraph may answer with that mean the same to chat's callers; its
 * UPSTREAM_UNAVAILABLE keeps the store it names (PostgreSQL down is not the subgraph down).
 */
const PASSED_THROUGH: ReadonlySet<ErrorCode> = new Set([
  'BAD_USER_INPUT',
  'NOT_FOUND',
  'FORBIDDEN',
  'RATE_LIMITED',
  'UPSTREAM_UNAVAILABLE',
]);

interface GraphQLReply {
  data?: Record<string, unknown> | null;
  errors?: { message: string; extensions?: Record<string, unknown> }[];
}

/**
 * The conversation subgraph's internal operations, called directly (not through the gateway)
 * with an identity signed as `chat` on behalf of the acting user. Replies are validated here, at
 * the edge; its NOT_FOUND, BAD_USER_INPUT, FORBIDDEN, RATE_LIMITED (a creation budget spent) and
 * UPSTREAM_UNAVAILABLE reach chat's callers unchanged, anything else (timeouts, 5xx, a refused
 * signature) becomes UPSTREAM_UNAVAILABLE naming it. Calls are plain POSTs over kept-alive
 * connections (common/http/): fetch's Request, Headers and streams around them were 8 % of chat's
 * busy time in a profile of the turn benchmark.
 */
export class ConversationSubgraphClient implements ConversationClient {
  private readonly agent: Agent;
  /** What a call's span says of the request, the same for every call. */
  private readonly spanAttributes: Attributes;

  constructor(private readonly options: ConversationClientOptions) {
    this.agent = keepAliveAgent(options.url, MAX_CONNECTIONS);
    this.spanAttributes = postAttributes(options.url);
  }

  /** Closes the kept-alive connections, once no call is left to make. */
  close(): void {
    this.agent.destroy();
  }

  async turnContext(caller: UserCaller, query: TurnQuery): Promise<TurnContext> {
    const data = await this.request(
      caller,
      `query TurnContext($conversationId: ID, $leafId: ID, $historyLimit: Int!) {
        turnContext(conversationId: $conversationId, leafId: $leafId, historyLimit: $historyLimit) {
          ${TURN_CONTEXT_FIELDS}
        }
      }`,
      { ...query },
    );
    return this.parse(wireTurnContext, data.turnContext, 'turnContext');
  }

  async appendMessage(caller: UserCaller, input: AppendMessageInput): Promise<StoredMessage> {
    const data = await this.request(
      caller,
      `mutation AppendMessage($input: AppendMessageInput!) { appendMessage(input: $input) { ${MESSAGE_FIELDS} } }`,
      { input },
    );
    return this.parse(wireMessage, data.appendMessage, 'appendMessage');
  }

  async appendTurn(
    caller: UserCaller,
    input: AppendTurnInput,
    recall: TurnRecall | null,
  ): Promise<AppendedTurn> {
    const data = await this.request(
      caller,
      `mutation AppendTurn($input: AppendTurnInput!, $recall: TurnRecallInput) {
        appendTurn(input: $input, recall: $recall) { ${APPENDED_TURN_FIELDS} }
      }`,
      { input, recall },
    );
    return this.parse(wireAppendedTurn, data.appendTurn, 'appendTurn');
  }

  async appendFirstTurn(
    caller: UserCaller,
    input: FirstTurnInput,
    recall: TurnRecall | null,
  ): Promise<AppendedTurn & { context: TurnContext }> {
    const data = await this.request(
      caller,
      `mutation AppendFirstTurn($input: AppendTurnInput!, $recall: TurnRecallInput) {
        appendTurn(input: $input, withContext: true, recall: $recall) {
          ${APPENDED_TURN_FIELDS}
          context { ${TURN_CONTEXT_FIELDS} }
        }
      }`,
      { input, recall },
    );
    return this.parse(wireAppendedTurnWithContext, data.appendTurn, 'appendTurn');
  }

  async appendFollowUpTurn(
    caller: UserCaller,
    input: FollowUpTurnInput,
    { expectedSettings, historyLimit }: FollowUpTurnTerms,
    recall: TurnRecall | null,
  ): Promise<AppendedTurn & { context: TurnContext }> {
    const data = await this.request(
      caller,
      `mutation AppendFollowUpTurn(
        $input: AppendTurnInput!, $recall: TurnRecallInput, $expectedSettings: String, $historyLimit: Int!
      ) {
        appendTurn(
          input: $input, withContext: true, recall: $recall,
          expectedSettings: $expectedSettings, historyLimit: $historyLimit
        ) {
          ${APPENDED_TURN_FIELDS}
          context { ${TURN_CONTEXT_FIELDS} }
        }
      }`,
      { input, recall, expectedSettings, historyLimit },
    );
    return this.parse(wireAppendedTurnWithContext, data.appendTurn, 'appendTurn');
  }

  async updateMessage(caller: UserCaller, input: UpdateMessageInput): Promise<void> {
    await this.request(
      caller,
      `mutation UpdateMessage($input: UpdateMessageInput!) { updateMessage(input: $input) { id } }`,
      { input },
    );
  }

  async messagePath(caller: UserCaller, leafId: string, limit: number): Promise<StoredMessage[]> {
    const data = await this.request(
      caller,
      `query MessagePath($leafId: ID!, $limit: Int) { messagePath(leafId: $leafId, limit: $limit) { ${MESSAGE_FIELDS} } }`,
      { leafId, limit },
    );
    return this.parse(wireMessages, data.messagePath, 'messagePath');
  }

  async recallMessages(
    caller: UserCaller,
    query: string,
    excludeConversationId: string | null,
    first: number,
  ): Promise<RecallHit[]> {
    const data = await this.request(
      caller,
      `query RecallMessages($query: String!, $exclude: ID, $first: Int) {
        recallMessages(query: $query, excludeConversationId: $exclude, first: $first) { ${RECALL_HIT_FIELDS} }
      }`,
      { query, exclude: excludeConversationId, first },
    );
    return this.parse(wireRecallHits, data.recallMessages, 'recallMessages');
  }

  /** Every STREAMING message, read a page at a time (the field is bounded like every list). */
  async streamingMessages(requestId: string): Promise<StoredMessage[]> {
    const messages: StoredMessage[] = [];
    for (;;) {
      const data = await this.send(
        { userId: null, role: null, sessionId: null, requestId, issuer: 'chat' },
        `query StreamingMessages($first: Int!, $after: ID) {
          streamingMessages(first: $first, after: $after) { ${MESSAGE_FIELDS} }
        }`,
        { first: MAX_PAGE_SIZE, after: messages.at(-1)?.id ?? null },
      );
      const page = this.parse(wireMessages, data.streamingMessages, 'streamingMessages');
      messages.push(...page);
      if (page.length < MAX_PAGE_SIZE) return messages;
    }
  }

  async interruptMessage(requestId: string, messageId: string): Promise<void> {
    await this.send(
      { userId: null, role: null, sessionId: null, requestId, issuer: 'chat' },
      'mutation InterruptMessage($id: ID!) { interruptMessage(id: $id) { id } }',
      { id: messageId },
    );
  }

  private request(caller: UserCaller, query: string, variables: Record<string, unknown>) {
    return this.send(
      {
        userId: caller.userId,
        role: caller.role,
        sessionId: null,
        requestId: caller.requestId,
        issuer: 'chat',
      },
      query,
      variables,
    );
  }

  private async send(
    identity: Identity,
    query: string,
    variables: Record<string, unknown>,
  ): Promise<Record<string, unknown>> {
    let reply: GraphQLReply;
    let status: number;
    // Signed for the conversation subgraph and this very operation; a retry would sign afresh.
    const signed = signIdentity(identity, this.options.identitySecret, {
      audience: CONVERSATION_SUBGRAPH,
      digest: operationDigest({ query, variables }),
    });
    const headers = {
      'content-type': 'application/json',
      [IDENTITY_HEADER]: signed,
      [REQUEST_ID_HEADER]: identity.requestId,
    };
    try {
      const response = await this.post(headers, JSON.stringify({ query, variables }));
      status = response.status;
      // Whatever the status: the subgraph's errors come with 4xx and 5xx too.
      reply = JSON.parse(response.body) as GraphQLReply;
    } catch (error) {
      this.options.logger.warn({ err: error }, 'conversation subgraph unreachable');
      throw upstreamUnavailable('conversation');
    }
    const [first] = reply.errors ?? [];
    if (first) {
      const code = first.extensions?.code as ErrorCode | undefined;
      if (code && PASSED_THROUGH.has(code)) {
        const { code: _code, requestId: _requestId, ...details } = first.extensions ?? {};
        throw new AppError(code, first.message, details);
      }
      this.options.logger.error({ status, code, message: first.message }, 'conversation subgraph failed');
      throw upstreamUnavailable('conversation');
    }
    if (!reply.data) throw upstreamUnavailable('conversation');
    return reply.data;
  }

  /**
   * One POST, timed out as a whole. Inside a trace it is a CLIENT span (after OpenTelemetry's HTTP
   * conventions) whose context it carries on in `traceparent`, so that the conversation subgraph's
   * operation is its child; outside one (recovery's sweeps, or no spans recorded) it is neither.
   */
  private post(headers: Record<string, string>, body: string): Promise<PostResponse> {
    const { url, timeoutMs } = this.options;
    return tracedHttpCall(tracer, this.spanAttributes, headers, () =>
      postOverAgent(url, this.agent, headers, body, timeoutMs),
    );
  }

  private parse<T>(schema: z.ZodType<T>, value: unknown, operation: string): T {
    const parsed = schema.safeParse(value);
    if (!parsed.success) {
      this.options.logger.error(
        {
          operation,
          problems: parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`),
        },
        'conversation subgraph sent an unexpected reply',
      );
      throw upstreamUnavailable('conversation');
    }
    return parsed.data;
  }
}
