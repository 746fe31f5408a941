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

  it('does not echo a huge client value back whole (message and extensions are clipped)', () => {
    const id = 'x'.repeat(100_000);
    const formatted = formatError(
      { message: 'x' },
      asResolverError(new DomainError(ErrorCode.TENANT_NOT_FOUND, `tenant "${id}" not found`, { tenantId: id, limit: 5 })),
    );
    expect(formatted.message.length).toBeLessThan(1100);
    expect(formatted.message).toMatch(/^tenant "x+… \(99\d{3} more characters\)$/);
    expect(String(formatted.extensions?.['tenantId']).length).toBeLessThan(400);
    expect(formatted.extensions).toMatchObject({ code: 'TENANT_NOT_FOUND', limit: 5 });
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
