import type { TestUser } from '../../../common/testing/auth';
import { postGraphQL } from '../../../common/testing/graphql-client';

/** A generation as a fault test checks it after the fact: how it ended and what was saved. */
export interface SavedGeneration {
  status: string;
  error: string | null;
  usage: { completionTokens: number } | null;
  message: { content: string; status: string };
}

/** sendMessage through a gateway; the generation's id. */
export async function sendMessage(gatewayUrl: string, user: TestUser, content: string): Promise<string> {
  const response = await postGraphQL<{ sendMessage: { generation: { id: string } } }>(
    gatewayUrl,
    'mutation ($content: String!) { sendMessage(input: { content: $content }) { generation { id } } }',
    { content },
    user.headers,
  );
  if (!response.data) throw new Error(`sendMessage failed: ${JSON.stringify(response.errors)}`);
  return response.data.sendMessage.generation.id;
}

/** generation(id) through a gateway, with its saved message; throws on any error (NOT_FOUND included). */
export async function savedGeneration(
  gatewayUrl: string,
  user: TestUser,
  id: string,
): Promise<SavedGeneration> {
  const response = await postGraphQL<{ generation: SavedGeneration }>(
    gatewayUrl,
    `query ($id: ID!) {
      generation(id: $id) { status error usage { completionTokens } message { content status } }
    }`,
    { id },
    user.headers,
  );
  if (!response.data) throw new Error(`generation(id) failed: ${JSON.stringify(response.errors)}`);
  return response.data.generation;
}
