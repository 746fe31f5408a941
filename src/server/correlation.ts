import { AsyncLocalStorage } from 'node:async_hooks';
import type { GraphQLFormattedError } from 'graphql';

/**
 * The correlation id of the HTTP request being answered, for the error
 * answers Apollo builds before a context exists or outside the operation
 * (authentication, rate limits, Idempotency-Key refusals thrown by the
 * context function; CSRF and batching refusals; the response-size refusal):
 * `withCorrelationId` puts it in every error that does not carry one yet, so
 * that every error a client receives names the id of its response's
 * `X-Correlation-Id` header and of the server's log lines.
 */
const current = new AsyncLocalStorage<string>();

/** Runs `next` (the rest of the request's handling) with `correlationId` as the current one. */
export function inCorrelationScope<T>(correlationId: string, next: () => T): T {
  return current.run(correlationId, next);
}

export function currentCorrelationId(): string | undefined {
  return current.getStore();
}

/** `error` with the current correlation id in its extensions, unless it has one or there is none. */
export function withCorrelationId(error: GraphQLFormattedError): GraphQLFormattedError {
  const correlationId = current.getStore();
  if (!correlationId || error.extensions?.['correlationId'] !== undefined) return error;
  return { ...error, extensions: { ...error.extensions, correlationId } };
}
