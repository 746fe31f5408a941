import type { RecordedEvent } from '../../eventstore/port.js';
import type { Document, IndexSpec, WriteOperation } from '../../readmodels/port.js';
import type { Projection, ProjectionTarget } from '../runtime/projection.js';
import {
  AUDITED_EVENT_TYPES,
  auditDocumentOf,
  chainOf,
  GENESIS,
  type AuditEntryDocument,
  type ChainHeadDocument,
  type ChainLink,
} from './audit-entry.js';

export const AUDIT_PROJECTION = 'auditLogs';
export const AUDIT_LOGS = 'auditLogs';
export const AUDIT_CHAIN_HEADS = 'auditChainHeads';
/**
 * Per tenant, the last entry a verification checked against the event log
 * (its position and hash). Written by verifications, not by the projection:
 * it belongs to this generation of the read model, so a rebuild starts with
 * nothing verified.
 */
export const AUDIT_VERIFIED = 'auditVerified';

export interface VerifiedPointDocument extends Document {
  tenantId: string;
  position: number;
  hash: string;
  checkedEntries: number;
  verifiedAt: string;
  /** When a verification from the first entry last succeeded. */
  fullAt?: string;
  /** Where the last verification left the ledger (size, last position, frontier in hex): the next one goes on from there. */
  ledgerSize?: number;
  ledgerPosition?: number;
  ledgerFrontier?: string[];
}

/** Newest first within a tenant, for every filter of `auditLogs` (and oldest first for exports, read backwards). */
const byTenant = (field: string, name: string): IndexSpec => ({ keys: { tenantId: 1, [field]: 1, position: -1 }, name });

export const AUDIT_LOG_INDEXES: IndexSpec[] = [
  { keys: { tenantId: 1, position: -1 }, name: 'tenant_position', unique: true },
  // Multikey: an entry is listed under its namespace and every ancestor, so a subtree is one key.
  byTenant('namespacePath', 'tenant_namespace_path_position'),
  byTenant('resourceType', 'tenant_resource_type_position'),
  byTenant('resourceId', 'tenant_resource_id_position'),
  byTenant('actor.id', 'tenant_actor_position'),
  byTenant('action', 'tenant_action_position'),
  { keys: { tenantId: 1, occurredAt: -1 }, name: 'tenant_occurred_at' },
];

/**
 * The audit log: one entry per event of every type, hash-chained per tenant.
 *
 * Crash safety without transactions: entries are inserted first (`_id` = event
 * id, so a re-delivered event is a duplicate and ignored), then each touched
 * chain head is moved forward, guarded by its position. An entry depends only
 * on its event and the previous head, so a crash between the two writes
 * makes the replay recompute the very same entries and hashes, and a replay
 * after both writes skips the events at or below the head.
 */
export const auditProjection: Projection = {
  name: AUDIT_PROJECTION,
  // v2: a secret put that creates the key is audited as CREATE (was UPDATE).
  // v3: namespacePath (namespace subtree filters from an index); chain heads count their entries.
  version: 3,
  eventTypes: AUDITED_EVENT_TYPES,
  collections: {
    [AUDIT_LOGS]: AUDIT_LOG_INDEXES,
    [AUDIT_CHAIN_HEADS]: [],
    [AUDIT_VERIFIED]: [],
  },
  async apply(events: readonly RecordedEvent[], target: ProjectionTarget): Promise<void> {
    const heads = target.collection<ChainHeadDocument>(AUDIT_CHAIN_HEADS);
    const tenants = [...new Set(events.map(chainOf))];
    const stored = await heads.find({ _id: { $in: tenants } });
    const chain = new Map<string, ChainLink>(stored.map((h) => [h._id, { hash: h.hash, position: h.position }]));
    const counts = new Map<string, number>(stored.map((h) => [h._id, h.entries ?? 0]));
    const moved = new Set<string>();
    const inserts: WriteOperation<AuditEntryDocument>[] = [];
    for (const event of events) {
      const tenantId = chainOf(event);
      const head = chain.get(tenantId) ?? GENESIS;
      if (event.position <= head.position) continue;
      const document = auditDocumentOf(event, head.hash);
      inserts.push({ insertOne: { document } });
      chain.set(tenantId, { hash: document.hash, position: event.position });
      counts.set(tenantId, (counts.get(tenantId) ?? 0) + 1);
      moved.add(tenantId);
    }
    if (inserts.length === 0) return;
    // Duplicates are entries a crashed attempt already wrote: identical by construction.
    // Handed over: each document was built here from strings and numbers and is not touched again.
    await target.collection<AuditEntryDocument>(AUDIT_LOGS).bulkWrite(inserts, { ordered: false, handOver: true });
    const headWrites: WriteOperation<ChainHeadDocument>[] = [...moved].map((tenantId) => {
      const head = chain.get(tenantId) ?? GENESIS;
      return {
        updateOne: {
          filter: { _id: tenantId, position: { $lt: head.position } },
          // The count follows from the stored head and this batch, like the hash: a replay writes the same.
          update: { $set: { tenantId, hash: head.hash, position: head.position, entries: counts.get(tenantId) ?? 0 } },
          upsert: true,
        },
      };
    });
    // A duplicate key here is a head already at or past this position: nothing to move.
    await heads.bulkWrite(headWrites, { ordered: false });
  },
};
