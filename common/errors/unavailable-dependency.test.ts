import { DriverException, UniqueConstraintViolationException } from '@mikro-orm/core';
import { ChromaClient } from 'chromadb';
import { GraphQLError } from 'graphql';
import { ReplyError } from 'ioredis';
import { createRedis } from '../stores/redis';
import { silentLogger } from '../testing/logger';
import { findFreePort } from '../util/free-port';
import { describeCause, unavailableDependency } from './unavailable-dependency';

/** An error as pg gives it: a message and the fields its DatabaseError or socket error carries. */
const pgError = (message: string, fields: Record<string, unknown>) =>
  Object.assign(new Error(message), fields);

/** What `work` rejected with (a test fails on its value if it did not reject). */
const failureOf = (work: Promise<unknown>) => work.catch((error: unknown) => error);

describe('PostgreSQL', () => {
  it.each([
    ['connection refused', { code: 'ECONNREFUSED', syscall: 'connect' }],
    ['the server shutting down (57P01)', { code: '57P01', severity: 'FATAL' }],
    ['the server starting up (57P03)', { code: '57P03', severity: 'FATAL' }],
    ['a connection exception (08006)', { code: '08006', severity: 'FATAL' }],
    ['too many connections (53300)', { code: '53300', severity: 'FATAL' }],
    ['a statement timeout (57014)', { code: '57014', severity: 'ERROR' }],
  ])('is unavailable on %s, as MikroORM wraps it', (_what, fields) => {
    const error = new DriverException(pgError('insert into users … - failed', fields));
    expect(unavailableDependency(error)).toBe('postgres');
  });

  it.each([
    'Connection terminated unexpectedly',
    'timeout expired',
    'Knex: Timeout acquiring a connection. The pool is probably full.',
    'Client has encountered a connection error and is not queryable',
  ])('is unavailable when pg or knex says "%s"', (message) => {
    expect(unavailableDependency(new DriverException(pgError(message, {})))).toBe('postgres');
    expect(unavailableDependency(new Error(message))).toBe('postgres');
  });

  it('is not unavailable on a constraint violation or a syntax error', () => {
    const duplicate = new UniqueConstraintViolationException(
      pgError('duplicate key', { code: '23505', severity: 'ERROR' }),
    );
    const syntax = new DriverException(pgError('syntax error', { code: '42601', severity: 'ERROR' }));
    expect([unavailableDependency(duplicate), unavailableDependency(syntax)]).toEqual([undefined, undefined]);
  });
});

describe('Redis', () => {
  it('is unavailable when a command meets no connection (the offline queue is off)', async () => {
    const redis = createRedis({ url: `redis://127.0.0.1:${await findFreePort()}`, logger: silentLogger() });
    try {
      expect(unavailableDependency(await failureOf(redis.get('key')))).toBe('redis');
    } finally {
      redis.disconnect();
    }
  });

  it('is unavailable on a "not now" reply, not on an error in the command', () => {
    expect(unavailableDependency(new ReplyError('LOADING Redis is loading the dataset in memory'))).toBe(
      'redis',
    );
    expect(unavailableDependency(new ReplyError('WRONGTYPE Operation against a key'))).toBeUndefined();
  });
});

describe('Chroma', () => {
  it('is unavailable when the client cannot connect', async () => {
    const chroma = new ChromaClient({ host: '127.0.0.1', port: await findFreePort() });
    expect(unavailableDependency(await failureOf(chroma.heartbeat()))).toBe('chroma');
  });
});

describe('wrapped and other errors', () => {
  it('finds the cause inside a GraphQL error, a `cause` and an AggregateError', () => {
    const refused = new DriverException(pgError('connect ECONNREFUSED', { code: 'ECONNREFUSED' }));
    expect(unavailableDependency(new GraphQLError('failed', { originalError: refused }))).toBe('postgres');
    expect(unavailableDependency(new Error('failed', { cause: refused }))).toBe('postgres');
    expect(unavailableDependency(new AggregateError([new Error('other'), refused]))).toBe('postgres');
  });

  it('does not guess: a socket error of no known driver, or any other error, is not a store outage', () => {
    const fetchFailed = new TypeError('fetch failed', {
      cause: pgError('connect', { code: 'ECONNREFUSED' }),
    });
    expect(unavailableDependency(fetchFailed)).toBeUndefined();
    expect(unavailableDependency(new Error('Cannot read properties of undefined'))).toBeUndefined();
    expect(unavailableDependency('a string')).toBeUndefined();
  });

  it('describes a cause by its class and code only: a driver message can hold SQL and its parameters', () => {
    const error = new DriverException(
      pgError("insert into users (password_hash) values ('$argon2id$secret') - connect ECONNREFUSED", {
        code: 'ECONNREFUSED',
      }),
    );
    expect(describeCause(error)).toEqual({ name: 'DriverException', code: 'ECONNREFUSED' });
  });
});
