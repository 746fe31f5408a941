import { rewireTypes } from '@graphql-tools/utils';
import {
  GraphQLID,
  GraphQLInputObjectType,
  GraphQLInterfaceType,
  GraphQLList,
  GraphQLNonNull,
  GraphQLObjectType,
  GraphQLSchema,
  defaultFieldResolver,
  getNamedType,
  getNullableType,
  isEnumType,
  isInputObjectType,
  isListType,
  isNonNullType,
  isObjectType,
  type GraphQLFieldConfig,
  type GraphQLFieldConfigMap,
  type GraphQLFieldResolver,
  type GraphQLInputType,
  type GraphQLNamedType,
} from 'graphql';
import { encodeCursor, decodeCursor } from '../../application/pagination.js';
import { badInput } from '../../shared/errors.js';
import type { GraphQLContext } from '../context.js';
import { pageDefault } from '../query-limits.js';
import { DEFAULT_PAGE, connectionArgs, connectionType, pageOfList, type ConnectionArgs } from './connections.js';
import { ENTITIES, V1Reads, VALUE_ID_RENAMES, changedEntity, type EntitySpec } from './entities.js';
import { decodeGlobalId, encodeGlobalId, type EntityVersion } from './global-id.js';
import { asVersion, provenanceOf, remember } from './provenance.js';

type Source = Record<string, unknown>;
type Field = GraphQLFieldConfig<unknown, GraphQLContext>;
type Resolver = GraphQLFieldResolver<unknown, GraphQLContext>;

/** Ids node(ids:) takes at most in one call. */
export const MAX_NODE_IDS = 100;

/** Query fields whose lists stay as v1 pages them: they are connections already, paged in the store. */
const ALREADY_CONNECTIONS = new Set(['flows', 'auditLogs']);

const readField = (field: Field | undefined, name: string): Resolver => {
  const resolve = field?.resolve as Resolver | undefined;
  return (source, args, ctx, info) =>
    resolve ? resolve(source, args, ctx, info) : defaultFieldResolver(source, args, ctx, { ...info, fieldName: name });
};

/** The key a list item's cursor carries: its natural key when an entity, else its scalar fields. */
function itemKey(typeName: string): (item: unknown) => string {
  const spec = ENTITIES[typeName];
  if (spec) return (item) => JSON.stringify(spec.key(item as Source, provenanceOf(item)?.owner));
  return (item) =>
    JSON.stringify(
      Object.entries(item as Source)
        .filter(([, value]) => value === null || typeof value !== 'object' || value instanceof Date)
        .sort(([a], [b]) => (a < b ? -1 : 1)),
    );
}

/**
 * The v2 API: v1's schema with Relay's global object identification and
 * connections, built from the v1 schema (same resolvers, same rights):
 *
 * - every entity type (entities.ts) implements `Node`; its `id` is a global,
 *   opaque id (type, tenant, natural key, version); v1's `id` is kept under a
 *   name of its own (`flowId`, `namespaceId`, …);
 * - value objects lose `id` (renamed, e.g. `Task.taskId`), so that a
 *   normalising cache keeps them inside their entity;
 * - a read at a `revision` or `asOf` gets ids of its own;
 * - every list of Query, and Flow.revisions, is a connection;
 * - `node(id:)` and `nodes(ids:)` fetch any entity again.
 */
export function buildV2Schema(v1: GraphQLSchema): GraphQLSchema {
  const reads = new V1Reads(v1);
  const typeOf = new WeakMap<object, string>();
  const node = new GraphQLInterfaceType({
    name: 'Node',
    description: 'An entity with a global id (Relay): unique across types, tenants and versions, and fetched again with node(id:).',
    fields: { id: { type: new GraphQLNonNull(GraphQLID), description: 'The global, opaque id. Natural keys have fields of their own.' } },
    resolveType: (value: unknown) => (typeof value === 'object' && value !== null ? typeOf.get(value) : undefined),
  });
  const pageInfo = v1.getType('PageInfo');
  if (!isObjectType(pageInfo)) throw new Error('v1 schema has no PageInfo');

  const idOf =
    (typeName: string, spec: EntitySpec): Resolver =>
    (source, _args, ctx) => {
      const provenance = provenanceOf(source);
      return encodeGlobalId({
        type: spec.idType ?? typeName,
        tenant: spec.scope === 'tenant' ? ctx.tenantId : null,
        key: spec.key(source as Source, provenance?.owner),
        version: provenance?.version ?? null,
      });
    };

  const types: Record<string, GraphQLNamedType> = {};
  for (const [name, type] of Object.entries(v1.getTypeMap())) {
    if (name.startsWith('__')) continue;
    if (isInputObjectType(type) && INPUT_ENUMS[name]) {
      types[name] = withEnumInputs(type, INPUT_ENUMS[name], v1);
      continue;
    }
    if (!isObjectType(type) || name === 'Mutation' || name === 'Subscription') {
      types[name] = type;
      continue;
    }
    const config = type.toConfig();
    const fields: GraphQLFieldConfigMap<unknown, GraphQLContext> = { ...(config.fields as GraphQLFieldConfigMap<unknown, GraphQLContext>) };
    const spec = ENTITIES[name];
    const renamed = spec ? spec.naturalIdField : VALUE_ID_RENAMES[name];
    const v1Id = fields['id'];
    if (v1Id) {
      delete fields['id'];
      if (renamed) {
        fields[renamed] = {
          ...v1Id,
          description: `${v1Id.description ?? 'The id.'} (v1's \`id\`: the natural key.)`,
          resolve: readField(v1Id, 'id'),
        };
      }
    }
    let interfaces = config.interfaces;
    if (spec) {
      fields['id'] = { type: new GraphQLNonNull(GraphQLID), description: spec.idDescription, resolve: idOf(name, spec) };
      interfaces = [...interfaces, node];
    }
    if (name === 'Flow') fields['revisions'] = revisionsConnection(fields['revisions']!, pageInfo);
    if (name === 'Change') {
      fields['nodeId'] = {
        type: GraphQLID,
        description:
          "The global id of the entity changed (its current version): the cache entry to update, or node(id:)'s argument to read it again (null after a delete, it answers null). Null for a type without one.",
        resolve: (source, _args, ctx) => {
          const entity = changedEntity(source as Source);
          return entity ? encodeGlobalId({ type: entity.type, tenant: ctx.tenantId, key: entity.key, version: null }) : null;
        },
      };
    }
    if (name === 'Query') rewriteQuery(fields, pageInfo);
    types[name] = new GraphQLObjectType({ ...config, fields, interfaces });
  }
  types['Node'] = node;

  const query = types['Query'] as GraphQLObjectType;
  const queryFields = query.toConfig().fields as GraphQLFieldConfigMap<unknown, GraphQLContext>;
  const fetchNode = async (field: string, id: string, ctx: GraphQLContext, info: Parameters<Resolver>[3]): Promise<unknown> => {
    const key = decodeGlobalId(field, id);
    const spec = ENTITIES[key.type];
    if (!spec || spec.idType) throw badInput(field, `${field} is not an id returned by this API`);
    // Another tenant's id (or an instance-level one asked for a tenant's): nothing, as for an id that names nothing.
    if (spec.scope === 'tenant' && key.tenant !== ctx.tenantId) return null;
    const found = await spec.refetch(key.key, key.version, reads, ctx, info);
    if (found === null || found === undefined) return null;
    const value = key.version ? asVersion(found, key.version) : found;
    if (key.version) remember(value, { owner: provenanceOf(found)?.owner });
    typeOf.set(value, key.type);
    return value;
  };
  queryFields['node'] = {
    type: node,
    description:
      'Any entity by its global id, with the same rights as its own query; null when it does not exist or the caller may not see it.',
    args: { id: { type: new GraphQLNonNull(GraphQLID), description: 'A global id (the `id` of any Node).' } },
    resolve: (_source, args: { id: string }, ctx, info) => fetchNode('id', args.id, ctx, info),
  };
  queryFields['nodes'] = {
    type: new GraphQLNonNull(new GraphQLList(node)),
    description: `Several entities by global id, in the order asked (null where node(id:) would answer null). At most ${MAX_NODE_IDS} ids.`,
    args: { ids: { type: new GraphQLNonNull(new GraphQLList(new GraphQLNonNull(GraphQLID))), description: 'Global ids.' } },
    resolve: (_source, args: { ids: string[] }, ctx, info) => {
      if (args.ids.length > MAX_NODE_IDS) throw badInput('ids', `at most ${MAX_NODE_IDS} ids`);
      return Promise.all(args.ids.map((id) => fetchNode('ids', id, ctx, info)));
    },
  };
  types['Query'] = new GraphQLObjectType({ ...query.toConfig(), fields: queryFields });

  const { typeMap, directives } = rewireTypes(types, v1.getDirectives());
  return new GraphQLSchema({
    query: typeMap['Query'] as GraphQLObjectType,
    mutation: typeMap['Mutation'] as GraphQLObjectType,
    subscription: typeMap['Subscription'] as GraphQLObjectType,
    types: Object.values(typeMap),
    directives,
    description: v1.description,
  });
}

/**
 * Inputs that v1 takes as String (so that quoted literals written before the
 * enums existed still work) and v2 as the enum its outputs already use.
 */
const INPUT_ENUMS: Record<string, Record<string, string>> = {
  PermissionInput: { resource: 'PermissionResource', actions: 'PermissionAction' },
  AuditLogFilter: { resourceType: 'AuditResourceType', action: 'AuditAction' },
};

function withEnumInputs(type: GraphQLInputObjectType, enums: Record<string, string>, v1: GraphQLSchema): GraphQLInputObjectType {
  const config = type.toConfig();
  const fields = { ...config.fields };
  for (const [field, enumName] of Object.entries(enums)) {
    const enumType = v1.getType(enumName);
    const current = fields[field];
    if (!isEnumType(enumType) || !current) throw new Error(`v2: no ${type.name}.${field} or enum ${enumName}`);
    // The same wrapping (non-null, list) around the enum instead of String.
    const swap = (t: GraphQLInputType): GraphQLInputType =>
      isNonNullType(t) ? new GraphQLNonNull(swap(t.ofType)) : isListType(t) ? new GraphQLList(swap(t.ofType)) : enumType;
    fields[field] = { ...current, type: swap(current.type) };
  }
  return new GraphQLInputObjectType({ ...config, fields });
}

/** Query: historical reads get versioned ids; lists become connections. */
function rewriteQuery(fields: GraphQLFieldConfigMap<unknown, GraphQLContext>, pageInfo: GraphQLObjectType): void {
  for (const [name, field] of Object.entries(fields)) {
    const args = field.args ?? {};
    const list = getNullableType(field.type);
    // A read at a revision or asOf of one entity: ids of their own (lists of value rows need none).
    if (('asOf' in args || 'revision' in args) && !isListType(list) && ENTITIES[getNamedType(list).name])
      fields[name] = versioned(field, name);
    if (name === 'auditCheckpoints') {
      fields[name] = checkpointsConnection(field, pageInfo);
      continue;
    }
    if (!isListType(list) || ALREADY_CONNECTIONS.has(name)) continue;
    const item = getNamedType(list);
    if (!isObjectType(item)) continue;
    fields[name] = listConnection(name, fields[name]!, item.name, pageInfo);
  }
  for (const [name, field] of Object.entries(fields)) if (!INSTANCE_FIELDS.has(name)) fields[name] = tenantKeyed(field, name);
}

/** Query fields that read no tenant's data (instance-level, or ids that name their tenant). */
const INSTANCE_FIELDS = new Set(['tenant', 'tenants', 'user', 'users', 'me', 'node', 'nodes']);

/**
 * An optional `tenant` argument on every tenant-scoped Query field: a client
 * cache keys root fields by name and arguments, not by endpoint, so a client
 * keeping one cache for several tenants passes it and each tenant's lists
 * stay apart. It selects nothing: it must name the endpoint's tenant.
 */
function tenantKeyed(field: Field, name: string): Field {
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

function versioned(field: Field, name: string): Field {
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

/** A v1 list of Query as a connection: read whole by the v1 resolver (with its own arguments), paged here. */
function listConnection(name: string, field: Field, itemName: string, pageInfo: GraphQLObjectType): Field {
  const item = getNamedType(field.type) as GraphQLObjectType;
  const resolve = readField(field, name);
  const keyOf = itemKey(itemName);
  const { first: _f, ...ownArgs } = field.args ?? {};
  return {
    ...field,
    type: new GraphQLNonNull(connectionType(itemName, item, pageInfo)),
    args: { ...ownArgs, ...connectionArgs('items') },
    extensions: { ...field.extensions, ...pageDefault('first', DEFAULT_PAGE) },
    resolve: async (source, args: ConnectionArgs & Record<string, unknown>, ctx, info) => {
      const { first, after, last, before, ...rest } = args;
      const items = (await resolve(source, rest, ctx, info)) as unknown[];
      return pageOfList(items, keyOf, { first, after, last, before });
    },
  };
}

/**
 * auditCheckpoints as a connection paged in the ledger's store (a checkpoint
 * a minute per active tenant adds up): keyset cursors on size and signing
 * time, both directions, totalCount counted in the index. v1's afterSize
 * gives way to the cursors.
 */
function checkpointsConnection(field: Field, pageInfo: GraphQLObjectType): Field {
  const item = getNamedType(field.type) as GraphQLObjectType;
  return {
    ...field,
    type: new GraphQLNonNull(connectionType('AuditCheckpoint', item, pageInfo)),
    description:
      "Signed checkpoints of the tenant's ledger, oldest first (first/after), or the newest (last/before). Needs AUDITLOG:LIST on the whole tenant.",
    args: connectionArgs('checkpoints', 'the first 100', 1000),
    extensions: { ...field.extensions, ...pageDefault('first', 100) },
    resolve: (_source, args: ConnectionArgs, ctx) =>
      ctx.services.auditLedger.checkpointPage(ctx.caller, ctx.services.audit.trail(ctx.caller, ctx.tenantId), args),
  };
}

/** Flow.revisions as a connection over revision numbers (v1's window arguments, opaque cursors). */
function revisionsConnection(field: Field, pageInfo: GraphQLObjectType): Field {
  const item = getNamedType(field.type) as GraphQLObjectType;
  const resolve = readField(field, 'revisions');
  const revisionOf = (argument: string, cursor: string | null | undefined): number | null => {
    if (!cursor) return null;
    const revision = Number(decodeCursor(argument, cursor, 1)[0]);
    if (!Number.isSafeInteger(revision)) throw badInput(argument, `${argument} is not a cursor returned by this list`);
    return revision;
  };
  return {
    ...field,
    type: new GraphQLNonNull(connectionType('FlowRevision', item, pageInfo)),
    description: `${field.description ?? ''} A connection: cursors are opaque, totalCount is the flow's revisionCount.`.trim(),
    args: connectionArgs('revisions', 'the newest 20'),
    resolve: async (flow, args: ConnectionArgs, ctx, info) => {
      const window = {
        first: args.first ?? null,
        after: revisionOf('after', args.after),
        last: args.last ?? null,
        before: revisionOf('before', args.before),
      };
      const list = (await resolve(flow, window, ctx, info)) as Source[];
      const total = Number((flow as Source)['revisionCount'] ?? list.length);
      const edges = list.map((revision) => ({
        cursor: encodeCursor([String(revision['revision'])]),
        node: remember(revision, { owner: flow as Source }),
      }));
      const firstRevision = Number(list[0]?.['revision'] ?? window.after ?? 0);
      const lastRevision = Number(list.at(-1)?.['revision'] ?? window.before ?? total + 1);
      return {
        edges,
        pageInfo: {
          hasPreviousPage: list.length > 0 ? firstRevision > 1 : window.after !== null && window.after > 0,
          hasNextPage: list.length > 0 ? lastRevision < total : window.before !== null && window.before <= total,
          startCursor: edges[0]?.cursor ?? null,
          endCursor: edges.at(-1)?.cursor ?? null,
        },
        totalCount: total,
      };
    },
  };
}
