import { rewireTypes } from '@graphql-tools/utils';
import {
  GraphQLID,
  GraphQLInterfaceType,
  GraphQLList,
  GraphQLNonNull,
  GraphQLObjectType,
  GraphQLSchema,
  getNamedType,
  getNullableType,
  isInputObjectType,
  isListType,
  isObjectType,
  type GraphQLFieldConfigMap,
  type GraphQLNamedType,
} from 'graphql';
import { badInput } from '../../shared/errors.js';
import type { GraphQLContext } from '../context.js';
import { checkpointsConnection, listConnection, revisionsConnection } from './connection-fields.js';
import { ENTITIES, V1Reads, VALUE_ID_RENAMES, changedEntity, type EntitySpec } from './entities.js';
import { INPUT_ENUMS, withEnumInputs } from './enum-inputs.js';
import { readField, type Resolver } from './fields.js';
import { decodeGlobalId, encodeGlobalId } from './global-id.js';
import { asVersion, provenanceOf, remember } from './provenance.js';
import { INSTANCE_FIELDS, tenantKeyed, versioned } from './query-fields.js';

type Source = Record<string, unknown>;

/** Ids node(ids:) takes at most in one call. */
export const MAX_NODE_IDS = 100;

/** Query fields whose lists stay as v1 pages them: they are connections already, paged in the store. */
const ALREADY_CONNECTIONS = new Set(['flows', 'auditLogs']);

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
