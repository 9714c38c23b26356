import {
  ApolloClient,
  ApolloLink,
  CombinedGraphQLErrors,
  CombinedProtocolErrors,
  HttpLink,
  InMemoryCache,
} from '@apollo/client';
import { SetContextLink } from '@apollo/client/link/context';
import { GraphQLWsLink } from '@apollo/client/link/subscriptions';
import { OperationTypeNode } from 'graphql';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { GraphQLRequestError, type ResponseError, StreamDisconnectedError } from '../chat-client/errors';
import { DEFAULT_RETRY_POLICY, isFinalEvent, Retrier, type RetryPolicy } from '../chat-client/retry';
import {
  ChatDocument,
  type GenerationEventFieldsFragment,
  GenerationEventsDocument,
  LoginDocument,
} from '../generated/graphql';

export interface ApolloExampleOptions {
  /** The gateway's GraphQL endpoint, e.g. http://localhost:4000/graphql. */
  url: string;
  email: string;
  password: string;
  question: string;
  /** Called with each piece of the reply as it arrives. */
  onToken?: (delta: string) => void;
  /** How a stream that ended in a retryable way is resumed (the typed client's policy by default). */
  retry?: RetryPolicy;
  /**
   * How the reply streams: over graphql-ws with GraphQLWsLink (the default), or over plain HTTP
   * with HttpLink alone, which speaks Apollo's multipart subscription protocol.
   */
  transport?: 'websocket' | 'http';
}

type Event = GenerationEventFieldsFragment;

/**
 * Apollo's GraphQLWsLink reports a closed socket as a plain Error, its code only in the message;
 * graphql-ws's `closed` event has it. Both are turned into the errors retry.ts judges.
 */
function toStreamFailure(
  error: unknown,
  lastClose: { code: number; reason: string } | undefined,
  operationName: string,
): unknown {
  if (CombinedGraphQLErrors.is(error) || CombinedProtocolErrors.is(error)) {
    return new GraphQLRequestError(operationName, error.errors as readonly ResponseError[]);
  }
  // Over HTTP, a connection cut mid-stream reaches HttpLink as a failed fetch or a cut-off body.
  if (
    error instanceof TypeError ||
    (error instanceof Error && /premature end|terminated/i.test(error.message))
  ) {
    return new StreamDisconnectedError(undefined, error.message);
  }
  if (error instanceof Error && error.message.startsWith('Socket closed')) {
    return new StreamDisconnectedError(lastClose?.code, lastClose?.reason || error.message);
  }
  return error;
}

/**
 * The typed documents of clients/operations through Apollo Client: log in over HTTP, then send a
 * message and stream its reply in one subscription (`Chat`) over graphql-ws with GraphQLWsLink (or,
 * with `transport: 'http'`, over multipart HTTP with HttpLink alone), as the typed client does.
 * Resolves with the reply.
 */
export async function askWithApolloClient(options: ApolloExampleOptions): Promise<string> {
  let accessToken: string | undefined;
  const authorization = (): Record<string, string> =>
    accessToken ? { authorization: `Bearer ${accessToken}` } : {};

  const webSocketUrl = new URL(options.url);
  webSocketUrl.protocol = webSocketUrl.protocol === 'https:' ? 'wss:' : 'ws:';
  // Over a WebSocket the token goes in connection_init, read when the (lazy) socket opens.
  let lastClose: { code: number; reason: string } | undefined;
  const webSocket = createClient({
    url: webSocketUrl.toString(),
    webSocketImpl: WebSocket,
    connectionParams: authorization,
    // A dropped stream is resumed below with its own cursor; graphql-ws would resubscribe from the
    // variables it started with and repeat events.
    retryAttempts: 0,
    on: { closed: (event) => (lastClose = event as { code: number; reason: string }) },
  });
  const http = new SetContextLink((context) => ({
    headers: { ...context.headers, ...authorization() },
  })).concat(new HttpLink({ uri: options.url }));
  const client = new ApolloClient({
    link:
      options.transport === 'http'
        ? http
        : ApolloLink.split(
            (operation) => operation.operationType === OperationTypeNode.SUBSCRIPTION,
            new GraphQLWsLink(webSocket),
            http,
          ),
    cache: new InMemoryCache(),
  });

  try {
    const login = await client.mutate({
      mutation: LoginDocument,
      variables: { input: { email: options.email, password: options.password } },
    });
    accessToken = login.data?.login.accessToken;
    // Known from the first event on: a dropped stream then resumes with GenerationEvents. Before it
    // the message may or may not be stored, so a failure then is final: sending again could store it twice.
    let generationId: string | undefined;
    // One subscription: the send, or the reply's events from `after`. Resolves with the final event,
    // or nothing if it completed before it.
    const follow = (after: number, onEvent: (event: Event) => void) =>
      new Promise<Event | undefined>((resolve, reject) => {
        const operationName = generationId === undefined ? 'Chat' : 'GenerationEvents';
        // Later, not now: an ending may come before subscribe() has returned the subscription.
        const stop = () => queueMicrotask(() => subscription.unsubscribe());
        const fail = (error: unknown) => {
          stop();
          reject(toStreamFailure(error, lastClose, operationName));
        };
        const handlers = {
          next: (event: Event | undefined) => {
            if (!event) return;
            onEvent(event);
            if (isFinalEvent(event)) {
              stop();
              resolve(event);
            }
          },
          error: fail,
          complete: () => resolve(undefined),
        };
        const subscription =
          generationId === undefined
            ? client
                .subscribe({ query: ChatDocument, variables: { input: { content: options.question } } })
                .subscribe({
                  ...handlers,
                  next: ({ data, error }) => {
                    if (error) return fail(error);
                    generationId ??= data?.chat.started?.generation.id;
                    handlers.next(data?.chat);
                  },
                })
            : client
                .subscribe({ query: GenerationEventsDocument, variables: { id: generationId, after } })
                .subscribe({
                  ...handlers,
                  next: ({ data, error }) => (error ? fail(error) : handlers.next(data?.generation)),
                });
      });

    // Resumed with `after` = the last seq whenever the stream ends in a retryable way, after a
    // pause (retry.ts, shared with the typed client); a HEARTBEAT repeats the last seq and is skipped.
    const retrier = new Retrier(options.retry ?? DEFAULT_RETRY_POLICY);
    let reply = '';
    let after = 0;
    for (;;) {
      let final: Event | undefined;
      try {
        final = await follow(after, (event) => {
          if (event.seq <= after) return;
          after = event.seq;
          retrier.progressed();
          if (event.delta) {
            reply += event.delta;
            options.onToken?.(event.delta);
          }
        });
      } catch (failure) {
        if (generationId === undefined) throw failure;
        await retrier.pause(failure);
        continue;
      }
      if (final?.type === 'ERROR') throw new Error(`The reply failed: ${final.error ?? 'unknown error'}`);
      if (final) return reply;
      const ended = new StreamDisconnectedError(undefined, 'the stream ended before the reply did');
      if (generationId === undefined) throw ended;
      await retrier.pause(ended);
    }
  } finally {
    client.stop();
    await webSocket.dispose();
  }
}

// `npx tsx clients/examples/apollo-client.ts` against a running platform (npm start).
if (require.main === module) {
  const { GRAPHQL_URL = 'http://localhost:4000/graphql', EMAIL, PASSWORD } = process.env;
  if (!EMAIL || !PASSWORD) {
    process.stderr.write('Set EMAIL and PASSWORD of an account (register one in the playground first).\n');
    process.exit(2);
  }
  askWithApolloClient({
    url: GRAPHQL_URL,
    email: EMAIL,
    password: PASSWORD,
    question: process.argv.slice(2).join(' ') || 'What is a supergraph?',
    onToken: (delta) => process.stdout.write(delta),
  }).then(
    () => process.stdout.write('\n'),
    (error: unknown) => {
      process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
      process.exitCode = 1;
    },
  );
}
