import { type GraphQLSchema, graphql } from 'graphql';
import { Directive, Field, ObjectType, Query, Resolver } from 'type-graphql';
import { assertAllowed, RequiresRole } from './authorization';
import { buildFederatedSchema, printFederatedSdl } from '../graphql/federation';
import type { Caller } from './caller';
import type { Role } from './roles';

@ObjectType()
@RequiresRole('ADMIN')
class AuditLog {
  @Field()
  entries!: string;
}

@ObjectType()
class Profile {
  @Field()
  name!: string;

  @Field()
  @Directive('@authenticated')
  privateNote!: string;
}

@Resolver()
class GuardedResolver {
  @Query(() => String)
  publicInfo(): string {
    return 'open';
  }

  @Query(() => String)
  @Directive('@authenticated')
  secret(): string {
    return 'for members';
  }

  @Query(() => String)
  @RequiresRole('ADMIN')
  adminOnly(): string {
    return 'for admins';
  }

  @Query(() => AuditLog)
  auditLog(): AuditLog {
    return { entries: 'everything' };
  }

  @Query(() => Profile)
  profile(): Profile {
    return { name: 'Ada', privateNote: 'note' };
  }
}

const caller = (role: Role | null): Caller => ({
  userId: role ? '8d1e6f3a-3a0e-4c55-9f0e-2b1c6c1f5e11' : null,
  role,
  sessionId: role ? 'b2c4a0d6-0000-4000-8000-000000000001' : null,
  requestId: 'req',
  issuer: 'gateway',
  service: null,
});

describe('schema authorization directives', () => {
  let schema: GraphQLSchema;

  beforeAll(async () => {
    schema = await buildFederatedSchema({ resolvers: [GuardedResolver] });
  });

  const run = async (query: string, role: Role | null) => {
    const result = await graphql({ schema, source: query, contextValue: { caller: caller(role) } });
    return { data: result.data, codes: (result.errors ?? []).map((e) => e.originalError) };
  };
  const codeOf = (error: unknown) => (error as { code?: string }).code;

  it('lets anyone resolve a field without a directive', async () => {
    expect((await run('{ publicInfo }', null)).data).toEqual({ publicInfo: 'open' });
  });

  it('refuses an anonymous caller on an @authenticated field with UNAUTHENTICATED', async () => {
    const { data, codes } = await run('{ secret }', null);
    expect(data).toBeNull();
    expect(codes.map(codeOf)).toEqual(['UNAUTHENTICATED']);
  });

  it('lets any signed-in user resolve an @authenticated field', async () => {
    expect((await run('{ secret }', 'USER')).data).toEqual({ secret: 'for members' });
  });

  it('refuses a user whose role is too low with FORBIDDEN, and an anonymous one with UNAUTHENTICATED', async () => {
    expect((await run('{ adminOnly }', 'USER')).codes.map(codeOf)).toEqual(['FORBIDDEN']);
    expect((await run('{ adminOnly }', null)).codes.map(codeOf)).toEqual(['UNAUTHENTICATED']);
    expect((await run('{ adminOnly }', 'ADMIN')).data).toEqual({ adminOnly: 'for admins' });
  });

  it('applies a directive on a type to every field of that type', async () => {
    expect((await run('{ auditLog { entries } }', 'USER')).codes.map(codeOf)).toEqual(['FORBIDDEN']);
    expect((await run('{ auditLog { entries } }', 'ADMIN')).data).toEqual({
      auditLog: { entries: 'everything' },
    });
  });

  it('guards a single field of an otherwise public type', async () => {
    expect((await run('{ profile { name } }', null)).data).toEqual({ profile: { name: 'Ada' } });
    expect((await run('{ profile { privateNote } }', null)).codes.map(codeOf)).toEqual(['UNAUTHENTICATED']);
  });

  it('declares the directives in the subgraph SDL, where reviewers and composition see them', () => {
    const sdl = printFederatedSdl(schema);
    expect(sdl).toMatch(
      /@link\(url: "https:\/\/specs.apollo.dev\/federation\/v2.9", import: \[[^\]]*"@authenticated", "@requiresScopes"\]\)/,
    );
    expect(sdl).toMatch(/privateNote: String! @authenticated/);
    expect(sdl).toMatch(/adminOnly: String! @requiresScopes\(scopes: \[\["role:ADMIN"\]\]\)/);
  });
});

describe('assertAllowed', () => {
  const expectCode = (run: () => void, code: string) =>
    expect(run).toThrow(expect.objectContaining({ code }));

  it('counts a caller without a user id as anonymous, whatever else it claims', () => {
    expectCode(() => assertAllowed({ ...caller('ADMIN'), userId: null }, { role: null }), 'UNAUTHENTICATED');
  });

  it('lets a higher role through a lower requirement', () => {
    expect(() => assertAllowed(caller('ADMIN'), { role: 'USER' })).not.toThrow();
    expectCode(() => assertAllowed(caller('USER'), { role: 'ADMIN' }), 'FORBIDDEN');
  });
});

describe('a schema naming an unknown scope', () => {
  @Resolver()
  class MistypedResolver {
    @Query(() => String)
    @Directive('@requiresScopes(scopes: [["role:ADMINISTRATOR"]])')
    mistyped(): string {
      return '';
    }
  }

  it('fails to build, naming the field and the scopes there are', async () => {
    await expect(buildFederatedSchema({ resolvers: [MistypedResolver] })).rejects.toThrow(
      /@requiresScopes on Query\.mistyped: "role:ADMINISTRATOR" is not a scope; the scopes are role:USER, role:ADMIN/,
    );
  });
});
