/** v2's wrappers of v1 Query fields: versioned ids for historical reads, and the cache-key `tenant` argument. */
import { GraphQLID } from 'graphql';
import { badInput } from '../../shared/errors.js';
import { readField, type Field } from './fields.js';
import type { EntityVersion } from './global-id.js';
import { asVersion } from './provenance.js';

/** Query fields that read no tenant's data (instance-level, or ids that name their tenant). */
export const INSTANCE_FIELDS = new Set(['tenant', 'tenants', 'user', 'users', 'me', 'node', 'nodes']);

/**
 * An optional `tenant` argument on every tenant-scoped Query field: a client
 * cache keys root fields by name and arguments, not by endpoint, so a client
 * keeping one cache for several tenants passes it and each tenant's lists
 * stay apart. It selects nothing: it must name the endpoint's tenant.
 */
export function tenantKeyed(field: Field, name: string): Field {
  const resolve = readField(field, name);
  return {
    ...field,
    args: {
      ...field.args,
      tenant: {
        type: GraphQLID,
        description:
          "The endpoint's tenant, repeated for client caches: one cache shared by several tenants keys this field by it (docs/api-v2.md). Any other tenant is BAD_USER_INPUT.",
      },
    },
    resolve: (source, args: { tenant?: string | null } & Record<string, unknown>, ctx, info) => {
      const { tenant, ...rest } = args;
      if (tenant !== null && tenant !== undefined && tenant !== ctx.tenantId) {
        throw badInput('tenant', `tenant must be this endpoint's tenant (${ctx.tenantId ?? 'none: the instance endpoint'})`);
      }
      return resolve(source, rest, ctx, info);
    },
  };
}

export function versioned(field: Field, name: string): Field {
  const resolve = readField(field, name);
  return {
    ...field,
    resolve: async (source, args: { asOf?: Date | null; revision?: number | null }, ctx, info) => {
      const value = await resolve(source, args, ctx, info);
      const version: EntityVersion = {
        ...(args.revision !== null && args.revision !== undefined ? { revision: args.revision } : {}),
        ...(args.asOf ? { asOf: args.asOf.toISOString() } : {}),
      };
      return Object.keys(version).length > 0 ? asVersion(value, version) : value;
    },
  };
}
