import { ApolloClient, ApolloLink, HttpLink, InMemoryCache } from '@apollo/client';
import { SetContextLink } from '@apollo/client/link/context';
import { GraphQLWsLink } from '@apollo/client/link/subscriptions';
import { OperationTypeNode } from 'graphql';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import {
  type GenerationEventFieldsFragment,
  GenerationEventsDocument,
  LoginDocument,
  SendMessageDocument,
} from '../generated/graphql';

export interface ApolloExampleOptions {
  /** The gateway's GraphQL endpoint, e.g. http://localhost:4000/graphql. */
  url: string;
  email: string;
  password: string;
  question: string;
  /** Called with each piece of the reply as it arrives. */
  onToken?: (delta: string) => void;
}

const FINAL_EVENT_TYPES = new Set(['DONE', 'ERROR', 'STOPPED']);

/**
 * The typed documents of clients/operations through Apollo Client: log in over HTTP, send a
 * message, then follow the reply over graphql-ws with GraphQLWsLink. Resolves with the reply.
 */
export async function askWithApolloClient(options: ApolloExampleOptions): Promise<string> {
  let accessToken: string | undefined;
  const authorization = (): Record<string, string> =>
    accessToken ? { authorization: `Bearer ${accessToken}` } : {};

  const webSocketUrl = new URL(options.url);
  webSocketUrl.protocol = webSocketUrl.protocol === 'https:' ? 'wss:' : 'ws:';
  // Over a WebSocket the token goes in connection_init, read when the (lazy) socket opens.
  const webSocket = createClient({
    url: webSocketUrl.toString(),
    webSocketImpl: WebSocket,
    connectionParams: authorization,
  });
  const http = new SetContextLink((context) => ({
    headers: { ...context.headers, ...authorization() },
  })).concat(new HttpLink({ uri: options.url }));
  const client = new ApolloClient({
    link: ApolloLink.split(
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
    const sent = await client.mutate({
      mutation: SendMessageDocument,
      variables: { input: { content: options.question } },
    });
    const generationId = sent.data?.sendMessage.generation.id;
    if (!generationId) throw new Error('sendMessage answered no generation');
    return await new Promise<string>((resolve, reject) => {
      let reply = '';
      const finish = (event: GenerationEventFieldsFragment) => {
        subscription.unsubscribe();
        if (event.type === 'ERROR') reject(new Error(`The reply failed: ${event.error ?? 'unknown error'}`));
        else resolve(reply);
      };
      const subscription = client
        .subscribe({ query: GenerationEventsDocument, variables: { id: generationId } })
        .subscribe({
          next: ({ data, error }) => {
            if (error) return reject(error);
            const event = data?.generation;
            if (!event) return;
            if (event.delta) {
              reply += event.delta;
              options.onToken?.(event.delta);
            }
            if (FINAL_EVENT_TYPES.has(event.type)) finish(event);
          },
          error: reject,
          complete: () => reject(new Error('The stream ended before the reply did')),
        });
    });
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
