import { tenantPrefix, type EventStore } from '../eventstore/port.js';
import type { UpcasterRegistry } from '../events/upcasting.js';
import {
  AUDITED_EVENT_TYPES,
  auditEntryOf,
  documentHash,
  namespacePathOf,
  toView,
  type AuditEntryDocument,
  GENESIS,
  type AuditEntryView,
  type ChainLink,
} from '../projections/audit/audit-entry.js';
import { canonicalJson } from '../shared/json.js';
import { EVENT_PAGE_MAX, PageSizer } from '../shared/page-sizer.js';
import { Slicer } from '../shared/slices.js';

/**
 * Where the problem was found: `readModel` (the stored audit chain contradicts
 * itself), `eventLog` (the chain or the ledger disagrees with the events as
 * the log holds them now), `ledger` (the ledger's own store was changed),
 * `checkpoint` (the log no longer reaches a signed root, or a signature fails).
 */
export type VerificationSource = 'readModel' | 'eventLog' | 'ledger' | 'checkpoint';

export interface AuditVerification {
  ok: boolean;
  tenantId: string;
  /** Entries known good: those checked by this run, plus (incremental) those verified before it. */
  checkedEntries: number;
  /** Entries this run read and checked. */
  newlyCheckedEntries: number;
  /** True when the run started after the last verified entry instead of at the first entry. */
  incremental: boolean;
  /** Position of the last entry verified before this run (0: from the first entry). */
  verifiedFrom: string;
  /** Entries up to this position were checked (the audit projection's position when verification started). */
  verifiedUpTo: string;
  lastHash: string | null;
  firstBrokenEntryId: string | null;
  firstBrokenPosition: string | null;
  reason: string | null;
  source: VerificationSource | null;
  /** Events of the log checked against the ledger by this run. */
  checkedEvents?: number;
  /** Signed checkpoints the log reached by this run, each with a good signature. */
  checkedCheckpoints?: number;
}

interface Broken {
  id: string;
  position: number;
  reason: string;
  source: VerificationSource;
}

/**
 * The entries the event log implies for one tenant, recomputed with the same
 * pure function the projection uses, chained from the genesis.
 */
export async function* entriesFromLog(
  events: EventStore,
  upcasters: UpcasterRegistry,
  tenantId: string,
  upTo: number,
  from: ChainLink = GENESIS,
  /** The largest page read (tests make it small to cross page boundaries). */
  pageSize = EVENT_PAGE_MAX,
): AsyncGenerator<AuditEntryView> {
  let after = from.position;
  let previous: string | null = from.hash;
  const sizer = new PageSizer(Math.min(pageSize, EVENT_PAGE_MAX));
  for (;;) {
    const { page, full } = await sizer.read((maxCount) =>
      events.readAll({ after, maxCount, streamPrefix: tenantPrefix(tenantId), fromStorage: true }),
    );
    for (const event of page) {
      if (event.position > upTo) return;
      if (!AUDITED_EVENT_TYPES.has(event.type)) continue;
      const entry = auditEntryOf(upcasters.upcast(event), previous);
      previous = entry.hash;
      yield entry;
    }
    const last = page.at(-1);
    if (!last || !full) return;
    after = last.position;
  }
}

/** An async iterator that can look at its next item without taking it. */
class Peekable<T> {
  private buffered: IteratorResult<T> | null = null;
  constructor(private readonly iterator: AsyncIterator<T>) {}

  async peek(): Promise<T | undefined> {
    this.buffered ??= await this.iterator.next();
    return this.buffered.done ? undefined : this.buffered.value;
  }

  take(): void {
    this.buffered = null;
  }

  async close(): Promise<void> {
    await this.iterator.return?.();
  }
}

function differingFields(stored: AuditEntryView, expected: AuditEntryView): string[] {
  const keys = Object.keys(expected) as (keyof AuditEntryView)[];
  return keys.filter((key) => canonicalJson(stored[key]) !== canonicalJson(expected[key]));
}

/** Checks one stored entry against the stored chain alone: content hash and link to its predecessor. */
function brokenLink(doc: AuditEntryDocument, previousHash: string | null): { view: AuditEntryView | null; reason: string | null } {
  let view: AuditEntryView;
  try {
    view = toView(doc);
  } catch {
    return { view: null, reason: 'the entry cannot be read (malformed fields)' };
  }
  if (view.previousHash !== previousHash) return { view, reason: 'previousHash does not link to the entry before it' };
  // Not hashed (derived from `namespace`), but filters read it: an edit would hide the entry from namespace views.
  const path = namespacePathOf(view.namespace);
  if (!Array.isArray(doc.namespacePath) || doc.namespacePath.length !== path.length || path.some((p, i) => doc.namespacePath[i] !== p)) {
    return { view, reason: 'namespacePath does not match the namespace (the entry is filed under the wrong namespaces)' };
  }
  if (documentHash(doc) !== view.hash) return { view, reason: "hash does not match the entry's content" };
  return { view, reason: null };
}

export interface VerifyInput {
  tenantId: string;
  /** Stored entries of the tenant, oldest first, positions after `from` and up to `upTo`. */
  stored: AsyncIterable<AuditEntryDocument>;
  /** Entries recomputed from the event log after `from`, oldest first, chained from `from.hash`. */
  expected: AsyncIterable<AuditEntryView>;
  /** The last entry already verified (GENESIS: verify from the first entry). */
  from?: ChainLink;
  head: ChainLink | null;
  upTo: number;
  /** Called every few thousand entries with how many checked out so far and the last of them. */
  onProgress?: (checked: number, last: ChainLink) => void | Promise<void>;
  /** Time slices (and the deadline) of a long verification. */
  slicer?: Slicer;
}

/** Entries between two progress reports. */
const PROGRESS_EVERY = 5_000;

/**
 * One pass over both sequences, merged by position, in constant memory. At
 * each position the stored chain is checked on its own first (it names
 * tampering that needs no event log to be seen), then against the entry the
 * event recomputes (which also catches a chain rewritten consistently, and
 * entries deleted or added). The first failure is reported.
 */
export async function verifyAuditChain(input: VerifyInput): Promise<AuditVerification> {
  const stored = new Peekable(input.stored[Symbol.asyncIterator]());
  const expected = new Peekable(input.expected[Symbol.asyncIterator]());
  const from = input.from ?? GENESIS;
  const slicer = input.slicer ?? new Slicer();
  let checked = 0;
  let previous: string | null = from.hash;
  let last: { id: string; position: number; hash: string } | null =
    from.position > 0 && from.hash !== null ? { id: '', position: from.position, hash: from.hash } : null;
  const result = (broken: Broken | null): AuditVerification => ({
    ok: broken === null,
    tenantId: input.tenantId,
    checkedEntries: checked,
    newlyCheckedEntries: checked,
    incremental: from.position > 0,
    verifiedFrom: String(from.position),
    verifiedUpTo: String(input.upTo),
    lastHash: previous,
    firstBrokenEntryId: broken?.id ?? null,
    firstBrokenPosition: broken === null ? null : String(broken.position),
    reason: broken?.reason ?? null,
    source: broken?.source ?? null,
  });
  try {
    for (;;) {
      const doc = await stored.peek();
      const want = await expected.peek();
      if (!doc && !want) break;
      const wantPosition = want ? Number(want.position) : Infinity;
      if (want && (!doc || wantPosition < doc.position)) {
        return result({
          id: want.id,
          position: wantPosition,
          reason: 'the event has no entry in the read model (deleted)',
          source: 'eventLog',
        });
      }
      if (!doc) break;
      const link = brokenLink(doc, previous);
      if (link.reason !== null) return result({ id: doc._id, position: doc.position, reason: link.reason, source: 'readModel' });
      if (!want || wantPosition > doc.position) {
        return result({ id: doc._id, position: doc.position, reason: 'the entry has no event in the log (added)', source: 'eventLog' });
      }
      // The stored entry's hash matches its own content (checked just above): an equal hash means equal fields.
      // Only a difference needs the field-by-field comparison that names what changed.
      const fields = link.view && link.view.hash !== want.hash ? differingFields(link.view, want) : [];
      if (fields.length > 0) {
        return result({
          id: doc._id,
          position: doc.position,
          reason: `the entry differs from its event in: ${fields.join(', ')}`,
          source: 'eventLog',
        });
      }
      previous = doc.hash;
      last = { id: doc._id, position: doc.position, hash: doc.hash };
      stored.take();
      expected.take();
      checked++;
      if (checked % PROGRESS_EVERY === 0) await input.onProgress?.(checked, { position: doc.position, hash: doc.hash });
      await slicer.tick();
    }
  } finally {
    await Promise.all([stored.close(), expected.close()]);
  }
  if (last) await input.onProgress?.(checked, { position: last.position, hash: last.hash });
  const head = input.head;
  if (head && head.position <= input.upTo && (last?.position !== head.position || last.hash !== head.hash)) {
    return result({
      id: last?.id ?? '',
      position: last?.position ?? head.position,
      reason: `the chain head (position ${head.position}) does not match the last entry`,
      source: 'readModel',
    });
  }
  return result(null);
}
