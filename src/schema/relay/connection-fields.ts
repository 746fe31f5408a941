/**
 * v2's connection fields: a v1 list of Query paged in memory, the ledger's
 * checkpoints paged in its store, and a flow's revisions over revision
 * numbers.
 */
import { getNamedType, GraphQLNonNull, type GraphQLObjectType } from 'graphql';
import { decodeCursor, encodeCursor } from '../../application/pagination.js';
import { badInput } from '../../shared/errors.js';
import { pageDefault } from '../query-limits.js';
import { connectionArgs, connectionType, DEFAULT_PAGE, pageOfList, type ConnectionArgs } from './connections.js';
import { ENTITIES } from './entities.js';
import { readField, type Field } from './fields.js';
import { provenanceOf, remember } from './provenance.js';

type Source = Record<string, unknown>;

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

/** A v1 list of Query as a connection: read whole by the v1 resolver (with its own arguments), paged here. */
export function listConnection(name: string, field: Field, itemName: string, pageInfo: GraphQLObjectType): Field {
  const item = getNamedType(field.type) as GraphQLObjectType;
  const resolve = readField(field, name);
  const keyOf = itemKey(itemName);
  return {
    ...field,
    type: new GraphQLNonNull(connectionType(itemName, item, pageInfo)),
    args: { ...field.args, ...connectionArgs('items') },
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
export function checkpointsConnection(field: Field, pageInfo: GraphQLObjectType): Field {
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
export function revisionsConnection(field: Field, pageInfo: GraphQLObjectType): Field {
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
