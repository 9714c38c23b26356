import { DriverException } from '@mikro-orm/core';
import { GraphQLError } from 'graphql';
import { AppError, createErrorFormatter, isExpectedError } from './errors';
import { captureLogs } from '../testing/logger';

/** An error as a resolver throws it and graphql-js hands it to `formatError`. */
const thrownByResolver = (error: Error) =>
  new GraphQLError(error.message, { path: ['me'], originalError: error });

const format = (error: GraphQLError, logger = captureLogs().logger) =>
  createErrorFormatter(logger)(error.toJSON(), error);

describe('createErrorFormatter', () => {
  it('answers an unavailable store as UPSTREAM_UNAVAILABLE naming it, with a retry hint, and logs no SQL', () => {
    const logs = captureLogs();
    const refused = new DriverException(
      Object.assign(
        new Error(
          `select * from users where email = 'ada@example.test' - connect ECONNREFUSED 127.0.0.1:5432`,
        ),
        { code: 'ECONNREFUSED' },
      ),
    );

    const formatted = format(thrownByResolver(refused), logs.logger);

    expect(formatted).toEqual({
      message: 'postgres is unavailable, try again shortly',
      path: ['me'],
      extensions: { code: 'UPSTREAM_UNAVAILABLE', dependency: 'postgres', retryAfter: 2 },
    });
    expect(logs.lines().join('\n')).toContain('dependency unavailable');
    expect(logs.lines().join('\n')).not.toContain('ada@example.test');
  });

  it('masks anything else as INTERNAL', () => {
    const formatted = format(thrownByResolver(new TypeError('x is undefined')));
    expect(formatted.extensions).toEqual({ code: 'INTERNAL' });
  });

  it('keeps an AppError as it is', () => {
    const formatted = format(thrownByResolver(new AppError('NOT_FOUND', 'Conversation not found')));
    expect(formatted).toMatchObject({ message: 'Conversation not found', extensions: { code: 'NOT_FOUND' } });
  });

  it('counts an unavailable store as expected, so the gateway does not log it as a bug', () => {
    const error = thrownByResolver(new Error('Connection terminated unexpectedly'));
    expect(isExpectedError(error.toJSON(), error)).toBe(true);
  });
});
