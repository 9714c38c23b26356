export {
  ChatClient,
  type ChatClientOptions,
  type ChatStream,
  type ConversationSettings,
  type ConversationWithSettings,
  type FollowOptions,
  type GenerationContext,
  type GenerationEvent,
  type Instructions,
  type Memory,
  type MemoryState,
  type Model,
  type Preset,
  type SentMessage,
  type SignedInUser,
} from './chat-client';
export {
  GraphQLRequestError,
  isUnauthenticated,
  type ResponseError,
  SignedOutError,
  StreamDisconnectedError,
} from './errors';
export { operationText, type OperationText } from './operation';
export {
  type Clock,
  DEFAULT_RETRY_POLICY,
  isFinalEvent,
  isRetryable,
  Retrier,
  retryDelayMs,
  type RetryPolicy,
} from './retry';
export { FileTokenStore, MemoryTokenStore, type Tokens, type TokenStore } from './token-store';
export * from '../generated/graphql';
