import { GraphQLError } from 'graphql';
import { describe, expect, it } from 'vitest';
import { EventStoreUnavailableError } from '../../src/eventstore/port.js';
import { formatError } from '../../src/schema/errors.js';
import { DomainError, ErrorCode } from '../../src/shared/errors.js';

const asResolverError = (original: Error) => new GraphQLError(original.message, { originalError: original, path: ['x'] });

describe('formatError', () => {
  it('masks an unexpected error: generic message, no stack, no internals', () => {
    const internal = new Error('SQLITE_CORRUPT at /var/lib/tenantry/events.sqlite');
    const formatted = formatError({ message: internal.message, extensions: { stacktrace: ['at x.js:1'] } }, asResolverError(internal));
    expect(formatted).toEqual({ message: 'internal error', extensions: { code: ErrorCode.INTERNAL_SERVER_ERROR } });
  });

  it('keeps a DomainError with its code and extensions', () => {
    const formatted = formatError({ message: 'x' }, asResolverError(new DomainError(ErrorCode.CONFLICT, 'stale', { actualRevision: 3 })));
    expect(formatted).toEqual({ message: 'stale', extensions: { code: 'CONFLICT', actualRevision: 3 } });
  });

  it('a store outage is SERVICE_UNAVAILABLE without the store detail', () => {
    const formatted = formatError({ message: 'x' }, asResolverError(new EventStoreUnavailableError('connect ECONNREFUSED 10.0.0.7:2113')));
    expect(formatted.extensions?.['code']).toBe('SERVICE_UNAVAILABLE');
    expect(formatted.message).not.toContain('10.0.0.7');
  });

  it('maps Apollo validation failures onto BAD_USER_INPUT', () => {
    const formatted = formatError(
      { message: 'Cannot query field "x"', extensions: { code: 'GRAPHQL_VALIDATION_FAILED' } },
      new GraphQLError('x'),
    );
    expect(formatted.extensions).toEqual({ code: 'BAD_USER_INPUT', reason: 'GRAPHQL_VALIDATION_FAILED' });
  });
});
