import { registerUser, type TestUser } from '../common/testing/auth';
import { postGraphQL } from '../common/testing/graphql-client';
import { openai, startLoopbackServer, type LoopbackServer } from '../subgraphs/chat/testing/loopback-llm';
import { startTestPlatform, type TestPlatform } from './support/platform';

/*
 * Issue 11, item 5, another input path: the conversation subgraph refuses control characters in
 * every text argument, and the model's reply reaches it as one (chat's `appendMessage` and
 * `updateMessage`). A model can be led to write them (an escape sequence, a NUL): the reply must
 * still be saved, never lost to a refusal.
 */

const MESSAGES = `query($id: ID!) {
  conversation(id: $id) { messages { edges { node { role status content } } } }
}`;

interface Messages {
  conversation: { messages: { edges: { node: { role: string; status: string; content: string } }[] } };
}

describe('a model reply with control characters', () => {
  let llm: LoopbackServer;
  let platform: TestPlatform;
  let ada: TestUser;

  beforeAll(async () => {
    llm = await startLoopbackServer();
    llm.serveModels('m');
    platform = await startTestPlatform('model-output-hygiene', {
      env: { LLM_PROVIDER: 'openai-compatible', LLM_BASE_URL: `${llm.url}/v1`, LLM_MODEL: 'm' },
    });
    ada = await registerUser(platform);
  });
  afterAll(async () => {
    await platform?.stop();
    await llm?.close();
  });

  it('is saved, its control characters left out', async () => {
    llm.enqueue(
      {
        kind: 'sse',
        events: [
          openai.text('Plain, \u001b[1mbold\u001b[0m,'),
          openai.text(' a NUL\u0000 and a bell\u0007.\nA second line.'),
          openai.finish(),
          openai.usage(),
          openai.done,
        ],
      },
      { kind: 'sse', events: [openai.text('A \u001btitle'), openai.finish(), openai.done] },
    );
    const sent = await postGraphQL<{ sendMessage: { conversation: { id: string } } }>(
      platform.gatewayUrl,
      'mutation { sendMessage(input: { content: "Say something odd" }) { conversation { id } } }',
      {},
      ada.headers,
    );
    const id = sent.data?.sendMessage.conversation.id as string;
    let reply: { status: string; content: string } | undefined;
    for (let waited = 0; waited < 10_000; waited += 100) {
      const { data } = await postGraphQL<Messages>(platform.gatewayUrl, MESSAGES, { id }, ada.headers);
      reply = data?.conversation.messages.edges.map((edge) => edge.node).find((m) => m.role === 'ASSISTANT');
      if (reply && reply.status !== 'STREAMING') break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(reply).toEqual({
      role: 'ASSISTANT',
      status: 'COMPLETE',
      content: 'Plain, [1mbold[0m, a NUL and a bell.\nA second line.',
    });
  });
});
