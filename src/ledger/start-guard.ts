/**
 * At start, before any projection runs: the ledger must hold every event the
 * ledger projection's stored checkpoint says it hashed. That checkpoint lives
 * with the read models (`readmodels.sqlite`, MongoDB), not with the ledger
 * (`ledger.sqlite`): a ledger deleted, truncated or replaced by an older copy
 * would otherwise never be filled again (the projection goes on from its
 * checkpoint), and verification would find nothing to compare.
 *
 * The start is refused rather than the ledger rebuilt from the log: a rebuild
 * hashes the log as it is now, so an edit made while the ledger was away
 * would become the ledger's truth, and the signed checkpoints that could
 * have told are gone with a deleted file. `tenantry audit rebuild-ledger` is
 * the operator's explicit way to do it anyway (src/cli/ledger.ts).
 *
 * Cost: one read of the checkpoint, the heads of the ledger, and one event
 * read per tenant with a head (an index lookup in the SQLite log; skipped
 * on KurrentDB), whatever the history.
 */
import { DamagedDataDirError } from '../eventstore/installation.js';
import { tenantPrefix, type EventStore } from '../eventstore/port.js';
import { targetFor } from '../projections/runtime/aliases.js';
import { CHECKPOINTS, checkpointIdOf, type CheckpointDocument } from '../projections/runtime/checkpoints.js';
import type { DocumentStore } from '../readmodels/port.js';
import { ledgerOf } from './leaf.js';
import type { LedgerStore } from './store.js';

/** The ledger projection's name and version (src/projections/ledger/ledger.projection.ts). */
export const LEDGER_PROJECTION = { name: 'ledger', version: 1 } as const;

/** The id of the ledger projection's stored checkpoint. */
export const ledgerCheckpointId = (): string => checkpointIdOf(LEDGER_PROJECTION.name, targetFor(LEDGER_PROJECTION.version));

/** The ledger no longer holds events its projection's checkpoint says it hashed: refused, like a damaged log (exit code 6). */
export class LedgerBehindError extends DamagedDataDirError {}

/** Where the ledger is, for messages: its file, or the read models' store. */
function ledgerName(ledger: LedgerStore): string {
  const file = (ledger as { filePath?: unknown }).filePath;
  return typeof file === 'string' ? file : "the ledger (in the read models' store)";
}

/** The first event after `after` (of `tenant` when given), as stored. */
async function firstAfter(events: EventStore, after: number, tenant?: string) {
  const [event] = await events.readAll({
    after,
    maxCount: 1,
    fromStorage: true,
    ...(tenant ? { streamPrefix: tenantPrefix(tenant) } : {}),
  });
  return event;
}

/** Throws LedgerBehindError when the ledger lacks an event at or before the ledger projection's stored checkpoint. */
export async function refuseLedgerBehind(events: EventStore, documents: DocumentStore, ledger: LedgerStore): Promise<void> {
  // The checkpoint first: the ledger is written before it moves, so heads read after it cover at least as much.
  const stored = await documents.collection<CheckpointDocument>(CHECKPOINTS).findOne({ _id: ledgerCheckpointId() });
  const hashedUpTo = stored?.position ?? 0;
  if (hashedUpTo <= 0) return; // a new installation, an upgrade, read models in memory: the projection hashes from the first event
  const heads = new Map<string, number>();
  for (const tenant of await ledger.tenants()) heads.set(tenant, (await ledger.head(tenant))?.position ?? 0);
  const refuse = (tenant: string, position: number, held: string): never => {
    throw new LedgerBehindError(
      `${ledgerName(ledger)} ${held}, but the ledger projection's checkpoint says the log was hashed up to position ${hashedUpTo}: ` +
        `the event at position ${position} (tenant ${tenant}) is missing from the ledger (deleted, truncated or an older copy). ` +
        'Refusing to start: rebuilding it from the log as it is now would take any edit made meanwhile for the original. ' +
        'Restore the data dir from a backup (tenantry restore), or run `tenantry audit rebuild-ledger` to hash the log as it is now',
    );
  };
  // Past the newest event any tenant's ledger holds: a missing ledger, or the newest tenant's truncated.
  const newest = Math.max(0, ...heads.values());
  const next = await firstAfter(events, newest);
  if (next && next.position <= hashedUpTo) {
    refuse(ledgerOf(next.streamName), next.position, heads.size === 0 ? 'holds no ledger at all' : `holds events up to position ${newest}`);
  }
  // Each tenant's own ledger: truncated behind the checkpoint while another tenant's is intact. An index lookup in
  // the SQLite log; KurrentDB has no index by tenant (a filtered read may scan to the end of $all): verification names it there.
  if (events.kind === 'kurrentdb') return;
  for (const [tenant, position] of heads) {
    const after = await firstAfter(events, position, tenant);
    if (after && after.position <= hashedUpTo) refuse(tenant, after.position, `holds the ledger of ${tenant} up to position ${position}`);
  }
}
