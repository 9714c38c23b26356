import { errorCodes, postGraphQL } from '../../../common/testing/graphql-client';
import { startTestPlatform, type TestPlatform } from '../../../test/support/platform';

const typeQuery = `query($name: String!) { __type(name: $name) { name fields { name } inputFields { name } } }`;

describe('the conversation subgraph through the gateway', () => {
  let platform: TestPlatform;

  beforeAll(async () => {
    platform = await startTestPlatform('conversation gateway');
  });
  afterAll(() => platform?.stop());

  it('keeps the internal operations out of the public API', async () => {
    const query = await postGraphQL<{ __type: { fields: { name: string }[] } }>(
      platform.gatewayUrl,
      typeQuery,
      {
        name: 'Query',
      },
    );
    const mutation = await postGraphQL<{ __type: { fields: { name: string }[] } }>(
      platform.gatewayUrl,
      typeQuery,
      {
        name: 'Mutation',
      },
    );
    const fields = [...(query.data?.__type.fields ?? []), ...(mutation.data?.__type.fields ?? [])].map(
      (f) => f.name,
    );
    expect(fields).toEqual(
      expect.arrayContaining(['conversation', 'searchMessages', 'exportConversation', 'createConversation']),
    );
    for (const internal of [
      'appendMessage',
      'updateMessage',
      'messagePath',
      'recallMessages',
      'streamingMessages',
    ]) {
      expect(fields).not.toContain(internal);
    }
    for (const input of ['AppendMessageInput', 'UpdateMessageInput']) {
      const type = await postGraphQL(platform.gatewayUrl, typeQuery, { name: input });
      expect(type.data).toEqual({ __type: null });
    }
  });

  it('refuses an internal operation sent to the gateway', async () => {
    const response = await postGraphQL(platform.gatewayUrl, `{ streamingMessages { id } }`);
    expect(errorCodes(response)).toEqual(['GRAPHQL_VALIDATION_FAILED']);
  });

  it('asks a client that has not signed in to do so', async () => {
    const response = await postGraphQL(
      platform.gatewayUrl,
      `query { conversation(id: "00000000-0000-4000-8000-000000000000") { id } }`,
    );
    expect(errorCodes(response)).toEqual(['UNAUTHENTICATED']);
  });
});
