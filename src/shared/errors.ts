/**
 * The error codes of the public contract (docs/api.md). Every error a client sees
 * carries one of these in `extensions.code`.
 */
export enum ErrorCode {
  BAD_USER_INPUT = 'BAD_USER_INPUT',
  UNAUTHENTICATED = 'UNAUTHENTICATED',
  FORBIDDEN = 'FORBIDDEN',
  NOT_FOUND = 'NOT_FOUND',
  CONFLICT = 'CONFLICT',
  TENANT_NOT_FOUND = 'TENANT_NOT_FOUND',
  QUERY_TOO_COMPLEX = 'QUERY_TOO_COMPLEX',
  RATE_LIMITED = 'RATE_LIMITED',
  /** Added to the contract: a store is unreachable; nothing was written, the request may be retried. */
  SERVICE_UNAVAILABLE = 'SERVICE_UNAVAILABLE',
  INTERNAL_SERVER_ERROR = 'INTERNAL_SERVER_ERROR',
}

/**
 * An expected, client-facing failure. Deciders, handlers and resolvers throw
 * these; anything else that reaches the GraphQL layer is masked.
 */
export class DomainError extends Error {
  override readonly name = 'DomainError';
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly extensions: Record<string, unknown> = {},
  ) {
    super(message);
  }
}

export const badInput = (field: string, message: string, extra: Record<string, unknown> = {}): DomainError =>
  new DomainError(ErrorCode.BAD_USER_INPUT, message, { field, ...extra });

export const notFound = (what: string): DomainError => new DomainError(ErrorCode.NOT_FOUND, `${what} not found`);

export const conflict = (message: string, actualRevision?: number): DomainError =>
  new DomainError(ErrorCode.CONFLICT, message, actualRevision === undefined ? {} : { actualRevision });

export const forbidden = (permission: string): DomainError =>
  new DomainError(ErrorCode.FORBIDDEN, `missing permission ${permission}`, { permission });

export const unauthenticated = (message = 'authentication required'): DomainError => new DomainError(ErrorCode.UNAUTHENTICATED, message);

export const tenantNotFound = (tenantId: string): DomainError =>
  new DomainError(ErrorCode.TENANT_NOT_FOUND, `tenant ${JSON.stringify(tenantId)} not found`, { tenantId });

/** A tenant-level operation reached the instance endpoint without X-Tenant-Id or a mapped domain. */
export const noTenantSelected = (): DomainError =>
  new DomainError(
    ErrorCode.TENANT_NOT_FOUND,
    'no tenant selected: use /api/v1/{tenant}/graphql, the X-Tenant-Id header, or a domain mapped to a tenant',
  );

export function assertNever(value: never): never {
  throw new Error(`unexpected value: ${JSON.stringify(value)}`);
}
