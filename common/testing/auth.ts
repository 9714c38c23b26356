import { randomUUID } from 'node:crypto';
import { postGraphQL } from './graphql-client';

export interface TestUser {
  id: string;
  email: string;
  password: string;
  accessToken: string;
  refreshToken: string;
  /** `{ authorization: 'Bearer …' }`, to pass as postGraphQL's headers. */
  headers: Record<string, string>;
}

export interface RegisterOptions {
  email?: string;
  password?: string;
  displayName?: string;
}

/** `{ authorization: 'Bearer <token>' }` for a request as that token's user. */
export const bearer = (accessToken: string): Record<string, string> => ({
  authorization: `Bearer ${accessToken}`,
});

/** Registers a fresh user through the gateway (a unique email each call) and returns its tokens. */
export async function registerUser(
  platform: { gatewayUrl: string },
  options: RegisterOptions = {},
): Promise<TestUser> {
  const email = options.email ?? `user-${randomUUID()}@example.test`;
  const password = options.password ?? `correct horse ${randomUUID()}`;
  const response = await postGraphQL<{
    register: { accessToken: string; refreshToken: string; user: { id: string } };
  }>(
    platform.gatewayUrl,
    `mutation Register($input: RegisterInput!) {
      register(input: $input) { accessToken refreshToken user { id } }
    }`,
    { input: { email, password, displayName: options.displayName ?? 'Test User' } },
  );
  if (!response.data?.register) {
    throw new Error(`registerUser failed: ${JSON.stringify(response.errors)}`);
  }
  const { accessToken, refreshToken, user } = response.data.register;
  return { id: user.id, email, password, accessToken, refreshToken, headers: bearer(accessToken) };
}
