import type { Caller } from '../application/caller.js';
import type { Services } from '../application/services.js';
import { DomainError, ErrorCode } from '../shared/errors.js';
import type { Loaders } from './loaders.js';

export interface GraphQLContext {
  caller: Caller;
  services: Services;
  loaders: Loaders;
  /** The tenant chosen by path, X-Tenant-Id or Host; null on the instance endpoint without either. */
  tenantId: string | null;
  /** Highest event-store position written by this request's mutations (returned in `extensions.position`). */
  position: number;
}

export function requireTenant(ctx: GraphQLContext): string {
  if (ctx.tenantId === null) {
    throw new DomainError(
      ErrorCode.TENANT_NOT_FOUND,
      'no tenant selected: use /api/v1/{tenant}/graphql, the X-Tenant-Id header, or a domain mapped to a tenant',
    );
  }
  return ctx.tenantId;
}

/** Records the position a mutation reached, for the response's `extensions.position`. */
export function reached<T>(ctx: GraphQLContext, result: { position: number } & T): T {
  ctx.position = Math.max(ctx.position, result.position);
  return result;
}
