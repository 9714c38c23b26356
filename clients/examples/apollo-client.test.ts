import { registerUser } from '../../common/testing/auth';
import { startTestPlatform, type TestPlatform } from '../../common/testing/platform';
import { ChatClient } from '../chat-client';
import { ConversationsDocument, ConversationMessagesDocument } from '../generated/graphql';
import { askWithApolloClient } from './apollo-client';

let platform: TestPlatform;
beforeAll(async () => {
  platform = await startTestPlatform('apollo-example');
});
afterAll(() => platform?.stop());

test('the Apollo Client example logs in, sends a message and streams the reply over GraphQLWsLink', async () => {
  const user = await registerUser(platform);
  const tokens: string[] = [];

  const reply = await askWithApolloClient({
    url: platform.gatewayUrl,
    email: user.email,
    password: user.password,
    question: 'What does Apollo Client do?',
    onToken: (delta) => tokens.push(delta),
  });

  expect(tokens.length).toBeGreaterThan(1);
  expect(reply).toBe(tokens.join(''));
  const client = new ChatClient({ url: platform.gatewayUrl });
  await client.login(user.email, user.password);
  const [conversation] = (await client.request(ConversationsDocument)).me.conversations.edges;
  const { messages } = (await client.request(ConversationMessagesDocument, { id: conversation.node.id }))
    .conversation;
  expect(messages.edges.map((edge) => [edge.node.role, edge.node.content])).toEqual([
    ['USER', 'What does Apollo Client do?'],
    ['ASSISTANT', reply],
  ]);
  await client.close();
});
