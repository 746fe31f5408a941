import type { GraphQLFieldResolver, GraphQLResolveInfo, GraphQLSchema } from 'graphql';
import { defaultFieldResolver } from 'graphql';
import { encodeCursor } from '../../application/pagination.js';
import type { GraphQLContext } from '../context.js';
import type { EntityVersion, GlobalKey } from './global-id.js';
import { remember } from './provenance.js';

type Source = Record<string, unknown>;

/**
 * Reads through the v1 schema's own resolvers: the same authorization as the
 * direct query. Within one operation the same query with the same arguments
 * is read once: `nodes(ids:)` with a hundred bindings reads the bindings
 * list once, not a hundred times. Kept per execution of an operation, by
 * the variables object graphql-js builds for each one: a batch's later
 * operation (after a mutation) reads again, and the parsed document Apollo
 * reuses across requests shares nothing.
 */
export class V1Reads {
  private readonly executions = new WeakMap<object, Map<string, Promise<unknown>>>();

  constructor(private readonly v1: GraphQLSchema) {}

  query(field: string, args: Record<string, unknown>, ctx: GraphQLContext, info: GraphQLResolveInfo): Promise<unknown> {
    let reads = this.executions.get(info.variableValues);
    if (!reads) this.executions.set(info.variableValues, (reads = new Map<string, Promise<unknown>>()));
    const key = `${field}:${JSON.stringify(args)}`;
    let read = reads.get(key);
    if (!read) reads.set(key, (read = this.resolve('Query', field, undefined, args, ctx, info)));
    return read;
  }

  async resolve(
    type: string,
    field: string,
    source: unknown,
    args: Record<string, unknown>,
    ctx: GraphQLContext,
    info: GraphQLResolveInfo,
  ) {
    const definition = this.v1.getType(type);
    const fields = definition && 'getFields' in definition ? definition.getFields() : null;
    const target = fields?.[field];
    if (!target || !('args' in target)) throw new Error(`v1 schema has no ${type}.${field}`);
    const withDefaults: Record<string, unknown> = {};
    for (const arg of target.args) withDefaults[arg.name] = arg.defaultValue ?? null;
    const resolve = (target.resolve ?? defaultFieldResolver) as GraphQLFieldResolver<unknown, GraphQLContext>;
    return await resolve(source, { ...withDefaults, ...args }, ctx, info);
  }
}

/** How one entity type of the v2 API is identified and fetched again by `node(id:)`. */
export interface EntitySpec {
  /** The type its ids name, when another (CreatedApiToken is an ApiToken). */
  readonly idType?: string;
  /** The v2 field that keeps v1's `id` (the natural key), when the type has one. */
  readonly naturalIdField: string | null;
  /** Instance-level (tenants, users) or of the endpoint's tenant. */
  readonly scope: 'instance' | 'tenant';
  /** The natural key of an object of this type (its v1 view). */
  key(source: Source, owner: Source | undefined): string[];
  /** The object again, as the caller may see it now (null: gone or not visible). */
  refetch(key: string[], version: EntityVersion | null, reads: V1Reads, ctx: GraphQLContext, info: GraphQLResolveInfo): Promise<unknown>;
  /** Describes the type's `id` in the v2 schema. */
  readonly idDescription: string;
}

const text = (value: unknown): string => (value instanceof Date ? value.toISOString() : String(value));
const first = <T>(list: unknown, match: (item: Source) => boolean): T | null =>
  ((Array.isArray(list) ? list : []) as Source[]).find(match) as T | null;
const versionArgs = (version: EntityVersion | null) => ({
  ...(version?.revision !== undefined ? { revision: version.revision } : {}),
  ...(version?.asOf !== undefined ? { asOf: new Date(version.asOf) } : {}),
});

const CURRENT = 'The current version has one id, each historical version (a `revision` or an `asOf` read) an id of its own.';

/**
 * The entity types: everything with an identity of its own a frontend may
 * cache, refetch or keep live. Types not named here are value objects of the
 * entity that holds them (a flow's tasks, a role's permissions, …): in v2
 * they have no `id` and a normalising cache keeps them inside their parent.
 */
export const ENTITIES: Record<string, EntitySpec> = {
  Tenant: {
    naturalIdField: 'tenantId',
    scope: 'instance',
    key: (s) => [text(s['id'])],
    refetch: ([id], _v, reads, ctx, info) => reads.query('tenant', { id }, ctx, info),
    idDescription: 'Global id of the tenant.',
  },
  User: {
    naturalIdField: 'userId',
    scope: 'instance',
    key: (s) => [text(s['id'])],
    refetch: ([id], _v, reads, ctx, info) => reads.query('user', { id }, ctx, info),
    idDescription: 'Global id of the user.',
  },
  Me: {
    naturalIdField: 'principalId',
    scope: 'instance',
    key: (s) => [text(s['type']), text(s['id'])],
    refetch: async ([type, id], _v, reads, ctx, info) => {
      const me = (await reads.query('me', {}, ctx, info)) as Source;
      return text(me['type']) === type && text(me['id']) === id ? me : null;
    },
    idDescription: 'Global id of the calling principal (a user or service account).',
  },
  Namespace: {
    naturalIdField: 'namespaceId',
    scope: 'tenant',
    key: (s) => [text(s['id'])],
    refetch: ([id], version, reads, ctx, info) => reads.query('namespace', { id, ...versionArgs(version) }, ctx, info),
    idDescription: `Global id of the namespace. ${CURRENT}`,
  },
  Flow: {
    naturalIdField: 'flowId',
    scope: 'tenant',
    key: (s) => [text(s['namespace']), text(s['id'])],
    refetch: ([namespace, id], version, reads, ctx, info) => reads.query('flow', { namespace, id, ...versionArgs(version) }, ctx, info),
    idDescription: `Global id of the flow. ${CURRENT}`,
  },
  FlowRevision: {
    naturalIdField: null,
    scope: 'tenant',
    key: (s, owner) => [text(owner?.['namespace']), text(owner?.['id']), text(s['revision'])],
    refetch: async ([namespace, id, revision], _v, reads, ctx, info) => {
      const flow = await reads.query('flow', { namespace, id }, ctx, info);
      if (!flow) return null;
      const wanted = Number(revision);
      const list = await reads.resolve('Flow', 'revisions', flow, { first: 1, after: wanted - 1 }, ctx, info);
      const found = first<Source>(list, (r) => r['revision'] === wanted);
      return found ? remember(found, { owner: flow as Source }) : null;
    },
    idDescription: 'Global id of this saved revision of its flow (immutable).',
  },
  Role: {
    naturalIdField: 'roleId',
    scope: 'tenant',
    key: (s) => [text(s['id'])],
    refetch: ([id], version, reads, ctx, info) => reads.query('role', { id, ...versionArgs(version) }, ctx, info),
    idDescription: `Global id of the role. ${CURRENT}`,
  },
  Binding: {
    naturalIdField: 'bindingId',
    scope: 'tenant',
    key: (s) => [text(s['id'])],
    refetch: async ([id], _v, reads, ctx, info) => first(await reads.query('bindings', {}, ctx, info), (b) => text(b['id']) === id),
    idDescription: 'Global id of the binding.',
  },
  Group: {
    naturalIdField: 'groupId',
    scope: 'tenant',
    key: (s) => [text(s['id'])],
    refetch: ([id], _v, reads, ctx, info) => reads.query('group', { id }, ctx, info),
    idDescription: 'Global id of the group.',
  },
  ServiceAccount: {
    naturalIdField: 'serviceAccountId',
    scope: 'tenant',
    key: (s) => [text(s['id'])],
    refetch: ([id], _v, reads, ctx, info) => reads.query('serviceAccount', { id }, ctx, info),
    idDescription: 'Global id of the service account.',
  },
  ApiToken: {
    naturalIdField: 'tokenId',
    // A user's token on the instance endpoint, a service account's on its tenant's: the endpoint's scope either way.
    scope: 'tenant',
    key: (s) => [text(s['id'])],
    refetch: async ([id], _v, reads, ctx, info) => first(await reads.query('apiTokens', {}, ctx, info), (t) => text(t['id']) === id),
    idDescription: 'Global id of the API token (never its secret).',
  },
  CreatedApiToken: {
    idType: 'ApiToken',
    naturalIdField: 'tokenId',
    scope: 'tenant',
    key: (s) => [text(s['id'])],
    refetch: async ([id], _v, reads, ctx, info) => first(await reads.query('apiTokens', {}, ctx, info), (t) => text(t['id']) === id),
    idDescription: "Global id of the token created (the same as the ApiToken's: node(id:) answers the ApiToken, without its secret).",
  },
  SecretMetadata: {
    naturalIdField: null,
    scope: 'tenant',
    // The row as read from `namespace` (an inherited one names where it comes from in inheritedFrom).
    key: (s) => [text(s['namespace']), text(s['key'])],
    refetch: async ([namespace, key], _v, reads, ctx, info) =>
      first(await reads.query('secrets', { namespace, includeInherited: true }, ctx, info), (s) => text(s['key']) === key),
    idDescription: 'Global id of this secret metadata row: the namespace it was read from and the key. Never a value.',
  },
  AuditLogEntry: {
    naturalIdField: 'entryId',
    scope: 'tenant',
    key: (s) => [text(s['position'])],
    refetch: async ([position], _v, reads, ctx, info) => {
      // Newest first: the first entry after the cursor of position + 1 is the one at position, if visible.
      const after = encodeCursor([String(Number(position) + 1)]);
      const page = (await reads.query('auditLogs', { first: 1, after }, ctx, info)) as { edges: { node: Source }[] };
      const node = page.edges[0]?.node;
      return node && text(node['position']) === position ? node : null;
    },
    idDescription: 'Global id of the audit entry (its tenant and position).',
  },
  AuditCheckpoint: {
    naturalIdField: null,
    scope: 'tenant',
    key: (s) => [text(s['size'])],
    refetch: async ([size], _v, reads, ctx, info) =>
      first(await reads.query('auditCheckpoints', { afterSize: Number(size) - 1, first: 1 }, ctx, info), (c) => text(c['size']) === size),
    idDescription: "Global id of the signed checkpoint (its tenant and the ledger's size it signs).",
  },
  AuditVerificationJob: {
    naturalIdField: 'jobId',
    scope: 'tenant',
    key: (s) => [text(s['id'])],
    refetch: ([id], _v, reads, ctx, info) => reads.query('auditVerificationJob', { id }, ctx, info),
    idDescription: 'Global id of the verification job.',
  },
};

/**
 * Value objects that have a field named `id` in v1: in v2 it is renamed
 * (here) so that a normalising cache does not merge, say, the tasks named
 * `hello` of two different flows.
 */
export const VALUE_ID_RENAMES: Record<string, string> = {
  Actor: 'actorId',
  Task: 'taskId',
  MeTenant: 'tenantId',
  ResolvedFlow: 'flowId',
  ResolvedPlugin: 'pluginId',
  DeletionPlanNamespace: 'namespaceId',
  DeletionPlanFlow: 'flowId',
  DeletionPlanBinding: 'bindingId',
  GovernanceRevision: 'entityId',
};

export type { GlobalKey };

/**
 * The entity a `Change` of the live feed is about, as a v2 type and natural
 * key (its current version): a client finds it in its cache, or refetches
 * it with node(id:). Null for a type v2 does not identify.
 */
export function changedEntity(change: Source): { type: string; key: string[] } | null {
  const id = text(change['resourceId']);
  const namespace = change['namespace'] === null || change['namespace'] === undefined ? null : text(change['namespace']);
  switch (change['resourceType']) {
    case 'NAMESPACE':
      return { type: 'Namespace', key: [id] };
    case 'FLOW':
      // The audit trail names a flow `namespace.id`.
      return namespace && id.startsWith(`${namespace}.`) ? { type: 'Flow', key: [namespace, id.slice(namespace.length + 1)] } : null;
    case 'SECRET':
      // …and a secret `namespace/KEY`.
      return namespace && id.startsWith(`${namespace}/`)
        ? { type: 'SecretMetadata', key: [namespace, id.slice(namespace.length + 1)] }
        : null;
    case 'ROLE':
      return { type: 'Role', key: [id] };
    case 'BINDING':
      return { type: 'Binding', key: [id] };
    case 'GROUP':
      return { type: 'Group', key: [id] };
    case 'SERVICE_ACCOUNT':
      return { type: 'ServiceAccount', key: [id] };
    default:
      return null;
  }
}
