import { randomUUID } from 'node:crypto';
import { registerUser, type TestUser } from '../../../common/testing/auth';
import { errorCodes, postGraphQL } from '../../../common/testing/graphql-client';
import { signedHeaders } from '../../../common/testing/identity';
import { startTestPlatform, type TestPlatform } from '../../../test/support/platform';

const ENTITIES = `query($reps: [_Any!]!) {
  _entities(representations: $reps) { ... on User { id email displayName role createdAt } }
}`;
const PRIVATE = 'id email role';
/** Who a directly signed request is made for. */
interface Caller {
  userId: string | null;
  role?: 'ADMIN';
}

const AUTH_PAYLOAD = `user { ${PRIVATE} }`;

describe("a user's private fields (email, role) are theirs and admins' only", () => {
  let platform: TestPlatform;
  let victim: TestUser;
  let other: TestUser;

  beforeAll(async () => {
    platform = await startTestPlatform('auth-privacy');
    [victim, other] = await Promise.all([registerUser(platform), registerUser(platform)]);
  });
  afterAll(() => platform?.stop());

  /** `_entities` straight to auth's port, as the holder of a signed identity could send it. */
  const entitiesAs = (as: Caller, ids: string[]) => {
    const variables = { reps: ids.map((id) => ({ __typename: 'User', id })) };
    const headers = signedHeaders(
      as.userId,
      { audience: 'auth', query: ENTITIES, variables },
      as.role ? { role: as.role } : {},
    );
    return postGraphQL<{ _entities: unknown[] }>(platform.subgraphs.auth.url, ENTITIES, variables, headers);
  };

  it('resolves nobody else through _entities: not for an anonymous identity, not for another user', async () => {
    for (const as of [{ userId: null }, { userId: other.id }]) {
      const response = await entitiesAs(as, [victim.id, randomUUID()]);
      expect(response.errors).toBeUndefined();
      // The same null as for an id nobody has: no sign that the account exists.
      expect(response.data?._entities).toEqual([null, null]);
    }
  });

  it('resolves the user themselves, and anyone for an admin, through _entities', async () => {
    const self = await entitiesAs({ userId: victim.id }, [victim.id]);
    expect(self.data?._entities).toEqual([
      expect.objectContaining({ id: victim.id, email: victim.email, role: 'USER' }),
    ]);
    const admin = await entitiesAs({ userId: other.id, role: 'ADMIN' }, [victim.id]);
    expect(admin.data?._entities).toEqual([
      expect.objectContaining({ id: victim.id, email: victim.email, role: 'USER' }),
    ]);
  });

  it('still shows the signed-in account its own fields in the answer of register, login and refreshToken', async () => {
    const email = `privacy-${randomUUID()}@example.test`;
    const password = `correct horse ${randomUUID()}`;
    const gql = (query: string, variables: Record<string, unknown>) =>
      postGraphQL<Record<string, { user: { email: string; role: string }; refreshToken: string }>>(
        platform.gatewayUrl,
        query,
        variables,
      );
    const registered = await gql(
      `mutation($input: RegisterInput!) { register(input: $input) { refreshToken ${AUTH_PAYLOAD} } }`,
      { input: { email, password, displayName: 'Private Person' } },
    );
    expect(registered.data?.register.user).toMatchObject({ email, role: 'USER' });
    const loggedIn = await gql(`mutation($input: LoginInput!) { login(input: $input) { ${AUTH_PAYLOAD} } }`, {
      input: { email, password },
    });
    expect(loggedIn.data?.login.user).toMatchObject({ email, role: 'USER' });
    const refreshed = await gql(
      `mutation($token: String!) { refreshToken(token: $token) { ${AUTH_PAYLOAD} } }`,
      { token: registered.data?.register.refreshToken },
    );
    expect(refreshed.data?.refreshToken.user).toMatchObject({ email, role: 'USER' });
  });

  it('answers me with its own private fields through the gateway', async () => {
    const response = await postGraphQL(platform.gatewayUrl, `{ me { ${PRIVATE} } }`, {}, victim.headers);
    expect(response.data).toEqual({ me: { id: victim.id, email: victim.email, role: 'USER' } });
    expect(errorCodes(await postGraphQL(platform.gatewayUrl, `{ me { ${PRIVATE} } }`))).toEqual([
      'UNAUTHENTICATED',
    ]);
  });
});
