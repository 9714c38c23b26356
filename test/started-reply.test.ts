import { print } from 'graphql';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import {
  ChatDocument,
  type ChatSubscription,
  EditMessageDocument,
  type EditMessageMutation,
  SendMessageDocument,
  type SendMessageMutation,
} from '../clients/generated/graphql';
import { registerUser, type TestUser } from '../common/testing/auth';
import { type GraphQLResponse, postGraphQL } from '../common/testing/graphql-client';
import { eventually } from '../common/testing/wait';
import { DEFAULT_TITLE } from '../subgraphs/conversation/records/conversation.record';
import { startTestPlatform, type TestPlatform } from './support/platform';

/*
 * Issue 14 through the gateway: what sendMessage and editMessage answer at once (the clients'
 * StartedReply), and the first event of Subscription.chat, come from chat alone, which provides the
 * conversation's title and the message's content (@provides), and it is what the conversation
 * subgraph holds.
 */

type Started = SendMessageMutation['sendMessage'];

describe("a started reply's conversation and message", () => {
  let platform: TestPlatform;
  let user: TestUser;

  const gql = <T>(query: string, variables: Record<string, unknown> = {}) =>
    postGraphQL<T>(platform.gatewayUrl, query, variables, user.headers);
  /** Requests the gateway has sent the subgraph so far, whatever their outcome (from its /metrics). */
  const fetchesTo = async (subgraph: string) => {
    const metrics = await (await fetch(new URL('/metrics', platform.gatewayUrl))).text();
    const counts = metrics.matchAll(
      new RegExp(
        `^gateway_subgraph_fetch_duration_seconds_count\\{subgraph="${subgraph}",[^}]*\\} (\\d+)$`,
        'gm',
      ),
    );
    return [...counts].reduce((sum, [, count]) => sum + Number(count), 0);
  };
  /** Runs a send or an edit and checks that the gateway asked chat, and chat alone. */
  const startedBy = async (run: () => Promise<GraphQLResponse<Record<string, Started>>>) => {
    const [conversation, chat] = [await fetchesTo('conversation'), await fetchesTo('chat')];
    const response = await run();
    expect(response.errors).toBeUndefined();
    expect(await fetchesTo('conversation')).toBe(conversation);
    expect(await fetchesTo('chat')).toBe(chat + 1);
    return Object.values(response.data ?? {})[0];
  };
  const send = (input: Record<string, unknown>) =>
    startedBy(() => gql<SendMessageMutation>(print(SendMessageDocument), { input }));
  const edit = (messageId: string, content: string) =>
    startedBy(() => gql<EditMessageMutation>(print(EditMessageDocument), { messageId, content }));
  /** Waits for the reply, so the conversation takes another. */
  const finished = (generationId: string) =>
    eventually(async () => {
      const { data } = await gql<{ generation: { status: string } }>(
        'query($id: ID!) { generation(id: $id) { status } }',
        { id: generationId },
      );
      expect(data?.generation.status).toBe('COMPLETE');
    });
  /** The conversation's title and its messages' content, from the conversation subgraph. */
  const stored = async (id: string) => {
    const { data } = await gql<{
      conversation: { title: string; messages: { edges: { node: { id: string; content: string } }[] } };
    }>('query($id: ID!) { conversation(id: $id) { title messages { edges { node { id content } } } } }', {
      id,
    });
    const conversation = data?.conversation;
    return {
      title: conversation?.title,
      contentOf: (messageId: string) =>
        conversation?.messages.edges.find(({ node }) => node.id === messageId)?.node.content,
    };
  };

  beforeAll(async () => {
    platform = await startTestPlatform('started-reply', { env: { OFFLINE_TOKEN_INTERVAL_MS: '1' } });
    user = await registerUser(platform);
  });
  afterAll(() => platform?.stop());

  it('a first message: the new conversation with its default title, and the message as sent', async () => {
    const started = await send({ content: 'Plan a weekend in Lisbon' });
    expect(started.conversation.title).toBe(DEFAULT_TITLE);
    expect(started.userMessage.content).toBe('Plan a weekend in Lisbon');
    expect((await stored(started.conversation.id)).contentOf(started.userMessage.id)).toBe(
      'Plan a weekend in Lisbon',
    );
  });

  it('a renamed conversation: its current title, for a message and for an edit of it, as it stores them', async () => {
    const created = await gql<{ createConversation: { id: string } }>(
      'mutation { createConversation(input: { title: "Trip" }) { id } }',
    );
    const id = created.data?.createConversation.id as string;
    const renamed = await gql(
      'mutation($id: ID!) { renameConversation(id: $id, title: "Lisbon in May") { id } }',
      {
        id,
      },
    );
    expect(renamed.errors).toBeUndefined();

    const sent = await send({ conversationId: id, content: 'Where should we eat?' });
    expect(sent.conversation).toEqual({ id, title: 'Lisbon in May' });
    expect(sent.userMessage.content).toBe('Where should we eat?');
    const afterSend = await stored(id);
    expect(afterSend.title).toBe('Lisbon in May');
    expect(afterSend.contentOf(sent.userMessage.id)).toBe('Where should we eat?');

    await finished(sent.generation.id);
    const edited = await edit(sent.userMessage.id, 'Where should we eat fish?');
    expect(edited.conversation).toEqual({ id, title: 'Lisbon in May' });
    expect(edited.userMessage.id).not.toBe(sent.userMessage.id);
    expect(edited.userMessage.content).toBe('Where should we eat fish?');
    expect((await stored(id)).contentOf(edited.userMessage.id)).toBe('Where should we eat fish?');
  });

  it('Subscription.chat: its first event carries the same started reply, from chat alone, and no later one does', async () => {
    const conversationFetches = await fetchesTo('conversation');
    const client = createClient({
      url: platform.gatewayUrl.replace(/^http/, 'ws'),
      webSocketImpl: WebSocket,
      connectionParams: { authorization: `Bearer ${user.accessToken}` },
      retryAttempts: 0,
    });
    const events: ChatSubscription['chat'][] = [];
    try {
      for await (const result of client.iterate<ChatSubscription>({
        query: print(ChatDocument),
        variables: { input: { content: 'Plan a week in Porto' } },
      })) {
        expect(result.errors).toBeUndefined();
        events.push((result.data as ChatSubscription).chat);
      }
    } finally {
      await client.dispose();
    }

    const [first, ...rest] = events;
    expect(first.type).toBe('START');
    expect(rest.at(-1)?.type).toBe('DONE');
    expect(rest.every((event) => event.started === null)).toBe(true);
    const started = first.started as Started;
    expect(started.generation.id).toBe(first.generation.id);
    expect(started.userMessage.content).toBe('Plan a week in Porto');
    // The events reach no subgraph but chat: each is planned without an entity fetch.
    expect(await fetchesTo('conversation')).toBe(conversationFetches);
    const held = await stored(started.conversation.id);
    expect(held.contentOf(started.userMessage.id)).toBe('Plan a week in Porto');
    expect(started.conversation.title).toBe(DEFAULT_TITLE);
  });
});
