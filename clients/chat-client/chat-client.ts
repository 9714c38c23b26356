import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { type Client as WebSocketClient, createClient } from 'graphql-ws';
import WebSocket from 'ws';
import {
  type AuthSessionFragment,
  type ConversationSettingsFieldsFragment,
  ChatDocument,
  ConversationSettingsDocument,
  type ConversationSettingsInput,
  type CreateConversationInput,
  CreateConversationWithSettingsDocument,
  type CreateConversationWithSettingsMutation,
  CreatePresetDocument,
  DeletePresetDocument,
  ForgetMemoryDocument,
  GenerationContextDocument,
  type GenerationContextQuery,
  type GenerationEventFieldsFragment,
  GenerationEventsDocument,
  InstructionsDocument,
  type InstructionsInput,
  type InstructionsQuery,
  LoginDocument,
  LogoutDocument,
  MemoriesDocument,
  type MemoriesQuery,
  type MemoryFieldsFragment,
  ModelsDocument,
  type ModelsQuery,
  type PresetFieldsFragment,
  type PresetInput,
  PresetsDocument,
  RefreshTokenDocument,
  RegisterDocument,
  type RegisterInput,
  RememberDocument,
  SetRecallEnabledDocument,
  type SendMessageInput,
  type SendMessageMutation,
  StopGenerationDocument,
  type StopGenerationMutation,
  UpdateConversationSettingsDocument,
  UpdateInstructionsDocument,
  UpdatePresetDocument,
} from '../generated/graphql';
import {
  GraphQLRequestError,
  isUnauthenticated,
  type ResponseError,
  StreamDisconnectedError,
} from './errors';
import { requestBody } from './operation';
import { Session } from './session';
import { resumableEvents, toStreamError } from './resumable-events';
import { DEFAULT_RETRY_POLICY, type RetryPolicy } from './retry';
import { MemoryTokenStore, type Tokens, type TokenStore } from './token-store';

export type GenerationEvent = GenerationEventFieldsFragment;
export type SentMessage = SendMessageMutation['sendMessage'];
export type SignedInUser = AuthSessionFragment['user'];
export type Model = ModelsQuery['models'][number];
/** A conversation's settings; a null field means the deployment's default. */
export type ConversationSettings = ConversationSettingsFieldsFragment;
export type ConversationWithSettings = CreateConversationWithSettingsMutation['createConversation'];
export type Instructions = InstructionsQuery['me']['instructions'];
export type Preset = PresetFieldsFragment;
export type Memory = MemoryFieldsFragment;
/** What was put into a reply's prompt: instructions, memories and recalled messages. */
export type GenerationContext = GenerationContextQuery['generation']['context'];
/** What the assistant remembers about the user, and whether recall from other conversations is on. */
export type MemoryState = Omit<MemoriesQuery['me'], 'id'>;

export interface ChatClientOptions {
  /** The gateway's GraphQL endpoint, e.g. `http://localhost:4000/graphql`. */
  url: string;
  /** The graphql-ws endpoint; by default `url` with `ws:` or `wss:`. */
  webSocketUrl?: string;
  /** Where the tokens live; in memory by default. A `FileTokenStore` keeps a sign-in across runs. */
  tokens?: TokenStore;
  /** Refresh the access token when it expires within this long (default 60 s). */
  refreshMarginMs?: number;
  /**
   * How an event stream that ended in a retryable way (retry.ts) is resumed: the first pause
   * (default 250 ms), doubled up to the longest (5 s), jittered, and how many retries in a row
   * without an event before it fails (10).
   */
  retry?: Partial<RetryPolicy>;
  /** Sent as `User-Agent`, which the session list shows (default `llm-chat-client`). */
  userAgent?: string;
}

export interface FollowOptions {
  /** The last `seq` already seen: events after it are delivered (default 0, from the start). */
  after?: number;
  /** Aborting asks the platform to stop the generation; the stream goes on to its STOPPED event. */
  signal?: AbortSignal;
  /**
   * Told each time the stream resumes after ending in a retryable way (a gateway restarting: close
   * 1012; a dropped socket; UPSTREAM_UNAVAILABLE…), with what ended it: for a "reconnecting" notice.
   */
  onResume?: (failure: unknown) => void;
}

/** The events of one reply, and what its send stored (what `sendMessage` answers). */
export interface ChatStream extends AsyncIterable<GenerationEvent> {
  /** The stored user message, its conversation (new when none was given) and the generation. */
  readonly sent: Promise<SentMessage>;
}

interface ExecutionResponse<Result> {
  data?: Result | null;
  errors?: ResponseError[];
}

/** An operation's variables: required when any of them is, else optional. */
type VariablesArgument<V> = Record<string, never> extends V ? [variables?: V] : [variables: V];

/**
 * A typed client of the platform's gateway: sign-up and sign-in with refresh handled for the
 * caller, the operations of clients/operations with their generated types over HTTP, and
 * replies streamed over graphql-ws, resuming where they were after a dropped connection.
 */
export class ChatClient {
  private readonly session: Session;
  private webSocket: WebSocketClient;

  constructor(private readonly options: ChatClientOptions) {
    this.session = new Session(
      options.tokens ?? new MemoryTokenStore(),
      async (refreshToken) =>
        tokensOf((await this.execute(RefreshTokenDocument, { token: refreshToken })).refreshToken),
      options.refreshMarginMs ?? 60_000,
    );
    this.webSocket = this.connectWebSocket();
  }

  /** A lazy graphql-ws client: it connects on the first subscription and signs in then. */
  private connectWebSocket(): WebSocketClient {
    return createClient({
      url: this.options.webSocketUrl ?? webSocketUrlOf(this.options.url),
      webSocketImpl: WebSocket,
      lazy: true,
      // Each connection (reconnects included) signs in with a token that is good right now.
      connectionParams: async () => {
        const token = await this.session.accessToken();
        return token ? { authorization: `Bearer ${token}` } : {};
      },
      // A drop reaches the stream that was reading, which resumes from its last event itself;
      // graphql-ws would resubscribe from the variables it started with and repeat events.
      retryAttempts: 0,
    });
  }

  async register(input: RegisterInput): Promise<SignedInUser> {
    return this.signIn((await this.execute(RegisterDocument, { input })).register);
  }

  async login(email: string, password: string): Promise<SignedInUser> {
    return this.signIn((await this.execute(LoginDocument, { input: { email, password } })).login);
  }

  /** Whether tokens are held (they may still be refused if the session was ended elsewhere). */
  async isSignedIn(): Promise<boolean> {
    return (await this.session.tokens()) !== undefined;
  }

  /** Ends the session on the platform, then forgets the tokens (even if the platform is unreachable). */
  async logout(): Promise<void> {
    try {
      if (await this.isSignedIn()) await this.request(LogoutDocument);
    } finally {
      await this.session.end();
    }
  }

  /**
   * Runs a query or mutation as the signed-in user (anonymously when signed out). An access
   * token the gateway refuses is refreshed once and the request sent again.
   */
  async request<Result, V>(
    document: TypedDocumentNode<Result, V>,
    ...[variables]: VariablesArgument<V>
  ): Promise<Result> {
    const token = await this.session.accessToken();
    try {
      return await this.execute(document, variables, token);
    } catch (error) {
      if (!token || !isUnauthenticated(error)) throw error;
      const renewed = await this.session.renew(token);
      return this.execute(document, variables, renewed.accessToken);
    }
  }

  /**
   * One subscription over graphql-ws, as an async iterator of its results. The gateway checks the
   * token of the socket's sign-in again for every operation: refused before any result (it expired
   * while the socket stayed open), the token is refreshed and the socket signs in again, once.
   */
  async *subscribe<Result, V>(
    document: TypedDocumentNode<Result, V>,
    ...[variables]: VariablesArgument<V>
  ): AsyncGenerator<Result> {
    const body = requestBody(document, variables as Record<string, unknown> | undefined);
    for (let attempt = 1; ; attempt++) {
      const token = await this.session.accessToken();
      const results = this.webSocket.iterate<Result>(body);
      let delivered = false;
      try {
        for await (const result of results) {
          if (result.errors?.length || !result.data) {
            throw new GraphQLRequestError(body.operationName, (result.errors ?? []) as ResponseError[]);
          }
          delivered = true;
          yield result.data;
        }
        return;
      } catch (error) {
        const failure = toStreamError(body.operationName, error);
        if (attempt > 1 || delivered || !token || !isUnauthenticated(failure)) throw failure;
        await this.session.renew(token);
        // A new socket signs in with the new token; streams on the old one end with a normal
        // close (resumable) and follow on the new one.
        const stale = this.webSocket;
        this.webSocket = this.connectWebSocket();
        void stale.dispose();
      } finally {
        await results.return?.();
      }
    }
  }

  /**
   * A generation's events from `after` on, resumed with `after` = the last `seq` seen whenever the
   * stream ends in a retryable way (a dropped socket, UPSTREAM_UNAVAILABLE…), after a backoff.
   */
  followGeneration(id: string, options: FollowOptions = {}): AsyncIterable<GenerationEvent> {
    return this.resumeOnFailure(Promise.resolve(id), (after) => this.eventsAfter(id, after), options);
  }

  /**
   * Sends a message and streams the reply in one operation (`Subscription.chat`), sent at once: the
   * first event brings what `sendMessage` answers (`sent`). Once it has come, a stream that fails in
   * a retryable way resumes with `generation(id, after)` as `followGeneration` does; a failure before
   * it is the stream's and `sent`'s, and the message is never sent twice (it may have been stored).
   */
  streamChat(input: SendMessageInput, options: Omit<FollowOptions, 'after'> = {}): ChatStream {
    let started: SentMessage | undefined;
    let announce: (sent: SentMessage) => void = () => undefined;
    let refuse: (error: unknown) => void = () => undefined;
    const sent = new Promise<SentMessage>((resolve, reject) => {
      announce = resolve;
      refuse = reject;
    });
    // Awaited by the caller, if at all: unread, a failed send is no unhandled rejection.
    sent.catch(() => undefined);
    const send = () => this.subscribe(ChatDocument, { input });
    const resume = (id: string, after: number) => this.eventsAfter(id, after);
    async function* sendOrResume(after: number): AsyncGenerator<GenerationEvent> {
      if (started) return yield* resume(started.generation.id, after);
      try {
        for await (const { chat } of send()) {
          const { started: payload, ...event } = chat;
          if (payload && !started) {
            started = payload;
            announce(payload);
          }
          yield event;
        }
        if (!started)
          throw new StreamDisconnectedError(undefined, 'the subscription ended before the message was sent');
      } catch (error) {
        if (!started) refuse(error);
        throw error;
      }
    }
    const generationId = sent.then((message) => message.generation.id);
    generationId.catch(() => undefined);
    const events = this.resumeOnFailure(generationId, sendOrResume, options, () => started !== undefined);
    // Sent now, as a mutation would be: `sent` settles whether or not the caller iterates.
    const first = events.next();
    first.catch(() => undefined);
    return {
      sent,
      async *[Symbol.asyncIterator]() {
        const step = await first;
        if (step.done) return;
        yield step.value;
        yield* events;
      },
    };
  }

  /**
   * Events from `subscribe(after)`, resumed from the last `seq` whenever they end in a retryable way
   * (and `resumable()` allows), with the abort signal wired to stopping the generation once its id is known.
   */
  private resumeOnFailure(
    generationId: Promise<string>,
    subscribe: (after: number) => AsyncIterable<GenerationEvent>,
    options: FollowOptions,
    resumable?: () => boolean,
  ): AsyncGenerator<GenerationEvent> {
    const { signal } = options;
    let stopping: Promise<void> | undefined;
    let stopFailure: unknown;
    // Caught at once (an unhandled rejection would end the process); reported when the stream ends.
    // A generation that never started (its send failed) has nothing to stop.
    const onAbort = () =>
      (stopping ??= generationId.then(
        (id) =>
          this.stopGeneration(id).then(
            () => undefined,
            (error: unknown) => {
              stopFailure = error;
            },
          ),
        () => undefined,
      ));
    return resumableEvents({
      after: options.after ?? 0,
      subscribe,
      retry: { ...DEFAULT_RETRY_POLICY, ...this.options.retry },
      resumable,
      onResume: options.onResume,
      onStart: () => {
        if (signal?.aborted) onAbort();
        signal?.addEventListener('abort', onAbort, { once: true });
      },
      onEnd: async () => {
        signal?.removeEventListener('abort', onAbort);
        await stopping;
        if (stopFailure) throw stopFailure;
      },
    });
  }

  async stopGeneration(id: string): Promise<StopGenerationMutation['stopGeneration']> {
    return (await this.request(StopGenerationDocument, { id })).stopGeneration;
  }

  /**
   * Which instructions, memories and messages of other conversations went into the prompt of a
   * generation (`SendMessage`'s `generation.id`): why the assistant said what it said.
   */
  async generationContext(generationId: string): Promise<GenerationContext> {
    return (await this.request(GenerationContextDocument, { id: generationId })).generation.context;
  }

  /** The models of every configured provider, available or not. */
  async models(): Promise<Model[]> {
    return (await this.request(ModelsDocument)).models;
  }

  /** A new conversation, with settings of its own or copied from a preset (`presetId`). */
  async createConversation(input: CreateConversationInput = {}): Promise<ConversationWithSettings> {
    return (await this.request(CreateConversationWithSettingsDocument, { input })).createConversation;
  }

  async conversationSettings(conversationId: string): Promise<ConversationSettings> {
    return (await this.request(ConversationSettingsDocument, { id: conversationId })).conversation.settings;
  }

  /** Changes some settings: an absent field stays as it is, a null one goes back to the default. */
  async updateConversationSettings(
    conversationId: string,
    settings: ConversationSettingsInput,
  ): Promise<ConversationSettings> {
    const { updateConversationSettings } = await this.request(UpdateConversationSettingsDocument, {
      id: conversationId,
      settings,
    });
    return updateConversationSettings.settings;
  }

  /** The signed-in user's custom instructions. */
  async instructions(): Promise<Instructions> {
    return (await this.request(InstructionsDocument)).me.instructions;
  }

  /** Changes them: an absent field stays as it is, "" clears one. */
  async updateInstructions(input: InstructionsInput): Promise<Instructions> {
    return (await this.request(UpdateInstructionsDocument, { input })).updateInstructions;
  }

  /** The signed-in user's presets, oldest first. */
  async presets(): Promise<Preset[]> {
    return (await this.request(PresetsDocument)).presets;
  }

  async createPreset(input: PresetInput): Promise<Preset> {
    return (await this.request(CreatePresetDocument, { input })).createPreset;
  }

  async updatePreset(id: string, input: PresetInput): Promise<Preset> {
    return (await this.request(UpdatePresetDocument, { id, input })).updatePreset;
  }

  /** Resolves with the deleted preset's id. */
  async deletePreset(id: string): Promise<string> {
    return (await this.request(DeletePresetDocument, { id })).deletePreset;
  }

  async memories(): Promise<MemoryState> {
    const { memories, recallEnabled } = (await this.request(MemoriesDocument)).me;
    return { memories, recallEnabled };
  }

  /** A memory that goes into the prompt of every conversation from now on. */
  async remember(text: string): Promise<Memory> {
    return (await this.request(RememberDocument, { text })).remember;
  }

  /** Resolves with the forgotten memory's id; it is never sent to a model again. */
  async forgetMemory(id: string): Promise<string> {
    return (await this.request(ForgetMemoryDocument, { id })).forgetMemory;
  }

  /** Whether replies may draw on the user's other conversations. */
  async setRecallEnabled(enabled: boolean): Promise<boolean> {
    return (await this.request(SetRecallEnabledDocument, { enabled })).setRecallEnabled;
  }

  /** Closes the WebSocket; the tokens stay in their store. */
  async close(): Promise<void> {
    await this.webSocket.dispose();
  }

  private async *eventsAfter(id: string, after: number): AsyncGenerator<GenerationEvent> {
    for await (const { generation } of this.subscribe(GenerationEventsDocument, { id, after }))
      yield generation;
  }

  private async signIn(payload: AuthSessionFragment): Promise<SignedInUser> {
    await this.session.start(tokensOf(payload));
    return payload.user;
  }

  private async execute<Result, V>(
    document: TypedDocumentNode<Result, V>,
    variables: V | undefined,
    accessToken?: string,
  ): Promise<Result> {
    const body = requestBody(document, variables as Record<string, unknown> | undefined);
    const response = await fetch(this.options.url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'application/graphql-response+json, application/json',
        'user-agent': this.options.userAgent ?? 'llm-chat-client',
        ...(accessToken ? { authorization: `Bearer ${accessToken}` } : {}),
      },
      body: JSON.stringify(body),
    });
    const result = (await response.json().catch(() => ({}))) as ExecutionResponse<Result>;
    if (result.errors?.length || !result.data) {
      throw new GraphQLRequestError(body.operationName, result.errors ?? [], response.status);
    }
    return result.data;
  }
}

const tokensOf = (payload: AuthSessionFragment): Tokens => ({
  accessToken: payload.accessToken,
  accessTokenExpiresAt: payload.accessTokenExpiresAt,
  refreshToken: payload.refreshToken,
  refreshTokenExpiresAt: payload.refreshTokenExpiresAt,
});

function webSocketUrlOf(httpUrl: string): string {
  const url = new URL(httpUrl);
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  return url.toString();
}
