/**
 * The two passes of a verification, over the stores alone: the log against
 * the ledger and its signed checkpoints, then the audit chain against the
 * log. No authorization, limits or saved points here (AuditService does
 * those), so the same function runs on the event loop's thread or on a
 * verification thread of its own (verification-thread.ts) with its own
 * connections to the stores.
 */
import type { EventStore } from '../eventstore/port.js';
import type { UpcasterRegistry } from '../events/upcasting.js';
import type { TrustedKeys } from '../ledger/checkpoint.js';
import type { LedgerStore } from '../ledger/store.js';
import type { AuditEntryDocument, ChainLink } from '../projections/audit/audit-entry.js';
import type { Collection } from '../readmodels/port.js';
import type { Slicer } from '../shared/slices.js';
import { entriesFromLog, verifyAuditChain, type AuditVerification } from './audit-verify.js';
import { verifyLedger, type LedgerPoint, type LedgerVerification } from './ledger-verify.js';
import { verifyWitness } from './ledger-witness.js';

/** Where the passes read: the log, the ledger, the trusted keys, and the tenant's stored audit entries. */
export interface PassStores {
  events: EventStore;
  ledger: LedgerStore;
  trusted: TrustedKeys;
  upcasters: UpcasterRegistry;
  /** The tenant's stored audit entries (a collection scoped to the tenant). */
  entries: Pick<Collection<AuditEntryDocument>, 'stream'>;
  /** TENANTRY_AUDIT_WITNESS_FILE: checked by full runs (every witnessed checkpoint of the tenant), when set. */
  witnessFile?: string | null | undefined;
}

/** What to verify: plain data, so that it can be posted to a thread. */
export interface PassInput {
  tenantId: string;
  /** The ledger's point to go on from (incremental), or null: from the first event. */
  ledgerFrom: LedgerPoint | null;
  /** The last audit entry verified before (GENESIS: from the first entry). */
  from: ChainLink;
  /** The chain head as stored when the run began; null before the first entry. */
  head: ChainLink | null;
  /** The audit projection's position when the run began: entries up to it are checked. */
  upTo: number;
  /** The ledger projection's position when the run began: events up to it must be in the ledger (0: unknown). */
  ledgerUpTo?: number;
}

export interface PassCallbacks {
  slicer?: Slicer | undefined;
  /** First pass: events of the log checked, of the ledger's size when it began. */
  onLedgerProgress?: ((checked: number, total: number) => void) | undefined;
  /** Second pass: entries checked so far and the last of them (a point to save). */
  onChainProgress?: ((checked: number, last: ChainLink) => void | Promise<void>) | undefined;
}

/** The ledger pass's result; the chain's, when the ledger pass found nothing. */
export interface PassResult {
  ledger: LedgerVerification;
  chain: AuditVerification | null;
}

export async function runVerificationPasses(stores: PassStores, input: PassInput, callbacks: PassCallbacks = {}): Promise<PassResult> {
  const { tenantId, from, upTo } = input;
  const ledger = await verifyLedger({
    tenantId,
    events: stores.events,
    ledger: stores.ledger,
    trusted: stores.trusted,
    from: input.ledgerFrom,
    hashedUpTo: input.ledgerUpTo,
    slicer: callbacks.slicer,
    onProgress: callbacks.onLedgerProgress,
  });
  if (ledger.problem) return { ledger, chain: null };
  if (input.ledgerFrom === null && stores.witnessFile) {
    const witness = await verifyWitness({
      tenantId,
      file: stores.witnessFile,
      ledger: stores.ledger,
      trusted: stores.trusted,
      verifiedSize: ledger.size,
      position: ledger.position,
      slicer: callbacks.slicer,
    });
    if (witness.problem) return { ledger: { ...ledger, problem: witness.problem }, chain: null };
  }
  const chain = await verifyAuditChain({
    tenantId,
    stored: stores.entries.stream({ position: { $gt: from.position, $lte: upTo } }, { sort: { position: 1 } }),
    expected: entriesFromLog(stores.events, stores.upcasters, tenantId, upTo, from),
    from,
    head: input.head,
    upTo,
    ...(callbacks.slicer ? { slicer: callbacks.slicer } : {}),
    ...(callbacks.onChainProgress ? { onProgress: callbacks.onChainProgress } : {}),
  });
  return { ledger, chain };
}
