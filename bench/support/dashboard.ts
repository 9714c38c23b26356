import { registerUser } from '../../common/testing/auth';
import { postGraphQL } from '../../common/testing/graphql-client';

/** One realistic query that spans the three subgraphs: the caller, their 20 latest conversations each with its last message, and their usage. */
export const DASHBOARD_QUERY = `query Dashboard {
  me {
    id
    displayName
    conversations(first: 20) { edges { node { id title messages(last: 1) { edges { node { content } } } } } }
    usage { totalTokens dailyTokensRemaining today { totalTokens } }
  }
}`;
/** The conversation subgraph's part of it (its fetch in the plan). */
export const CONVERSATIONS_PART = `conversations(first: 20) { edges { node { id title messages(last: 1) { edges { node { content } } } } } }`;
/** A subgraph's `_entities` query for the User's `fields`: its fetch in the plan, sent directly. */
export const ENTITIES = (fields: string) =>
  `query($representations: [_Any!]!) { _entities(representations: $representations) { ... on User { ${fields} } } }`;

/** A user with conversations, each with a message and its reply, every reply finished. */
export async function seedDashboardUser(url: string, conversations: number) {
  const user = await registerUser({ gatewayUrl: url }, { displayName: 'Bench User' });
  for (let i = 0; i < conversations; i++) {
    const created = await postGraphQL<{ createConversation: { id: string } }>(
      url,
      'mutation($title: String) { createConversation(title: $title) { id } }',
      { title: `Conversation ${i + 1}` },
      user.headers,
    );
    const conversationId = created.data?.createConversation.id;
    const sent = await postGraphQL(
      url,
      'mutation($input: SendMessageInput!) { sendMessage(input: $input) { __typename } }',
      { input: { conversationId, content: `Question number ${i + 1}: what is the capital of France?` } },
      user.headers,
    );
    if (!conversationId || sent.errors)
      throw new Error(`seeding failed: ${JSON.stringify(created.errors ?? sent.errors)}`);
  }
  // No reply may still be written while the load runs.
  for (let attempt = 0; ; attempt++) {
    const status = await postGraphQL<{
      me: { conversations: { edges: { node: { lastMessage: { status: string } | null } }[] } };
    }>(
      url,
      '{ me { conversations(first: 50) { edges { node { lastMessage { status } } } } } }',
      {},
      user.headers,
    );
    const edges = status.data?.me.conversations.edges ?? [];
    if (
      edges.length === conversations &&
      edges.every((edge) => edge.node.lastMessage?.status !== 'STREAMING')
    )
      break;
    if (attempt > 300) throw new Error('the seeded replies did not finish');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return user;
}
