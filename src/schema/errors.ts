import { unwrapResolverError } from '@apollo/server/errors';
import { GraphQLError, type GraphQLFormattedError } from 'graphql';
import {
  DocumentStoreOverloadedError,
  DocumentStoreUnavailableError,
  EventStoreUnavailableError,
  VaultUnavailableError,
} from '../application/store-errors.js';
import { DomainError, ErrorCode } from '../shared/errors.js';
import { withoutInputValues } from './input-echo.js';
import { requestLimitError } from './query-limits.js';

const PUBLIC_CODES = new Set<string>(Object.values(ErrorCode));

/** Apollo's own codes for requests that never reached a resolver, mapped onto the contract's. */
const APOLLO_CODES: Record<string, ErrorCode> = {
  GRAPHQL_PARSE_FAILED: ErrorCode.BAD_USER_INPUT,
  GRAPHQL_VALIDATION_FAILED: ErrorCode.BAD_USER_INPUT,
  BAD_REQUEST: ErrorCode.BAD_USER_INPUT,
  OPERATION_RESOLUTION_FAILURE: ErrorCode.BAD_USER_INPUT,
  PERSISTED_QUERY_NOT_FOUND: ErrorCode.BAD_USER_INPUT,
  PERSISTED_QUERY_NOT_SUPPORTED: ErrorCode.BAD_USER_INPUT,
};

/** Refused before any resolver ran, or refused as bad input: the client's mistake, never a server failure to log. */
export const isClientRequestError = (code: unknown): boolean =>
  code === ErrorCode.BAD_USER_INPUT || (typeof code === 'string' && Object.prototype.hasOwnProperty.call(APOLLO_CODES, code));

/**
 * Messages and extensions may quote the client's input (`tenant "…" not
 * found`). A client that sends a 100,000-character id gets the first part
 * back, not the whole of it.
 */
const MAX_MESSAGE = 1000;
const MAX_EXTENSION_TEXT = 300;

export function clip(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max)}… (${text.length - max} more characters)`;
}

export const isMasked = (formatted: GraphQLFormattedError): boolean => formatted.extensions?.['code'] === ErrorCode.INTERNAL_SERVER_ERROR;

/**
 * Every error leaves with a code from the contract. Expected failures
 * (DomainError) keep their message and extensions; anything else is masked so
 * that no stack, query, path or store detail reaches a client. The original
 * is logged by the error-logging plugin with the correlation id the client
 * also receives.
 */
export function formatError(formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError {
  // A limit refusal (QUERY_TOO_COMPLEX) arrives wrapped by Apollo as a validation or parse error.
  const original = requestLimitError(error) ?? unwrapResolverError(error);
  const base = { ...(formatted.locations ? { locations: formatted.locations } : {}), ...(formatted.path ? { path: formatted.path } : {}) };
  if (original instanceof DomainError) {
    const extensions: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(original.extensions))
      extensions[key] = typeof value === 'string' ? clip(value, MAX_EXTENSION_TEXT) : value;
    return { ...base, message: clip(original.message, MAX_MESSAGE), extensions: { ...extensions, code: original.code } };
  }
  if (original instanceof DocumentStoreOverloadedError) {
    // Refused before it was sent; a mutation refused here may or may not have been written before (retry it with its Idempotency-Key).
    return {
      ...base,
      message: `the read models are overloaded; retry in ${original.retryAfterSeconds} s`,
      extensions: { code: ErrorCode.SERVICE_UNAVAILABLE, retryAfterSeconds: original.retryAfterSeconds },
    };
  }
  if (
    original instanceof EventStoreUnavailableError ||
    original instanceof DocumentStoreUnavailableError ||
    original instanceof VaultUnavailableError
  ) {
    return {
      ...base,
      message: 'a backing store is unavailable; nothing was written, retry later',
      extensions: { code: ErrorCode.SERVICE_UNAVAILABLE },
    };
  }
  const rawCode = formatted.extensions?.['code'];
  const code: string = typeof rawCode === 'string' ? rawCode : '';
  // Request errors from graphql-js may quote the client's input, a secret value included.
  const reason = original instanceof GraphQLError ? original.originalError?.message : undefined;
  const message = withoutInputValues(formatted.message, reason);
  const mapped = APOLLO_CODES[code];
  if (mapped) return { ...base, message, extensions: { code: mapped, reason: code } };
  if (PUBLIC_CODES.has(code) && code !== String(ErrorCode.INTERNAL_SERVER_ERROR)) {
    const { stacktrace: _drop, exception: _drop2, ...extensions } = formatted.extensions ?? {};
    return { ...base, message, extensions: { ...extensions, code } };
  }
  return { ...base, message: 'internal error', extensions: { code: ErrorCode.INTERNAL_SERVER_ERROR } };
}
