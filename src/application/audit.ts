import type { ListScope } from '../auth/authorizer.js';
import type { Action } from '../auth/permissions.js';
import { isInstanceAdmin } from '../auth/principal.js';
import { INSTANCE_SCOPE } from '../eventstore/port.js';
import {
  GENESIS,
  toView,
  type AuditEntryDocument,
  type AuditEntryView,
  type ChainHeadDocument,
  type ChainLink,
} from '../projections/audit/audit-entry.js';
import {
  AUDIT_CHAIN_HEADS,
  AUDIT_LOGS,
  AUDIT_PROJECTION,
  AUDIT_VERIFIED,
  type VerifiedPointDocument,
} from '../projections/audit/audit.projection.js';
import { TENANTS, type TenantDocument } from '../projections/tenants/tenants.projection.js';
import type { Filter } from '../readmodels/port.js';
import type { TenantCollection } from '../readmodels/tenant-scoped.js';
import { badInput, forbidden, noTenantSelected, tenantNotFound } from '../shared/errors.js';
import { isValidId } from '../shared/ids.js';
import { Slicer } from '../shared/slices.js';
import type { Application } from './application.js';
import { auditCriteria, criteriaKey, criteriaPredicate, criteriaQuery, type AuditLogFilterInput } from './audit-criteria.js';
import { CurrentRunner, type AppliedProgress } from './applied-progress.js';
import { AuditFeed, type FeedFilter } from './audit-feed.js';
import { AuditHub } from './audit-hub.js';
import type { AuditVerification } from './audit-verify.js';
import type { LedgerPoint, LedgerVerification } from './ledger-verify.js';
import { LEDGER_PROJECTION } from '../ledger/start-guard.js';
import { runVerificationPasses, type PassCallbacks, type PassInput, type PassResult } from './verification-passes.js';
import { consistencyProof, Frontier, verifyConsistency } from '../shared/merkle.js';
import type { Caller } from './caller.js';
import { decodeCursor, encodeCursor, pageDirection, toPage, type Page, type PageArgs } from './pagination.js';
import type { TenantService } from './tenants.js';

/** The audit entry as the API shows it, and the flow it names (namespace and id apart). */
export { flowOf, type AuditEntryView } from '../projections/audit/audit-entry.js';

/** Entries of an export, oldest first. `close()` gives its slot back if the export ends without being read to the end. */
export type AuditExport = AsyncGenerator<AuditEntryView> & { close(): void };

export type { AuditLogFilterInput } from './audit-criteria.js';

/** A MongoDB filter for the API's AuditLogFilter, within what the caller may see. */
export function auditFilter(filter: AuditLogFilterInput | null | undefined, scope: ListScope): Filter {
  return criteriaQuery(auditCriteria(filter, scope));
}

/** The filter of a live subscription: store query, predicate and routing key of the same criteria. */
export function feedFilter(filter: AuditLogFilterInput | null | undefined, scope: ListScope): FeedFilter {
  const criteria = auditCriteria(filter, scope);
  return { query: criteriaQuery(criteria), matches: criteriaPredicate(criteria), key: criteriaKey(criteria) };
}

const positionCursor = (doc: AuditEntryDocument): string => encodeCursor([String(doc.position)]);

/**
 * Events to check from which a verification runs on a thread of its own
 * (where the stores allow one). Below, the passes take a few hundred
 * milliseconds in 1 ms slices on the event loop, less than starting a thread.
 */
export const THREAD_MIN_EVENTS = 5_000;

/**
 * Reading, verifying, exporting and following the audit log. A trail is a
 * tenant's chain, or the instance's (`_instance`: users and other events of
 * no tenant), which only instance admins and the local system may read.
 */
export class AuditService {
  constructor(
    private readonly app: Pick<
      Application,
      'config' | 'events' | 'heavy' | 'ledger' | 'projections' | 'readModels' | 'signing' | 'upcasters' | 'verificationThreads'
    >,
    private readonly tenants: TenantService,
  ) {}

  entries(tenantId: string): TenantCollection<AuditEntryDocument> {
    return this.app.readModels.forTenant<AuditEntryDocument>(AUDIT_LOGS, tenantId);
  }

  /**
   * The trail a request reads: the selected tenant's or, with no tenant
   * selected, the instance trail for instance admins.
   */
  trail(caller: Caller, selectedTenant: string | null): string {
    if (selectedTenant !== null) return selectedTenant;
    if (isInstanceAdmin(caller.authenticated())) return INSTANCE_SCOPE;
    throw noTenantSelected();
  }

  /** Resolved on every use: a blue/green rebuild replaces the live runner while feeds keep following. */
  private readonly progress: AppliedProgress = new CurrentRunner(() => this.app.projections.runner(AUDIT_PROJECTION));

  /**
   * Where in a trail the caller may look for `action` (LIST, EXPORT). The
   * local system (CLI) may read every tenant that ever existed, deleted ones
   * included: a deleted tenant's history stays verifiable.
   */
  async scope(caller: Caller, tenantId: string, action: Action): Promise<ListScope> {
    const principal = caller.authenticated();
    if (tenantId === INSTANCE_SCOPE) {
      if (isInstanceAdmin(principal) || principal.type === 'SYSTEM') return { all: true };
      throw forbidden(`AUDITLOG:${action}`);
    }
    if (principal.type === 'SYSTEM') {
      const tenants = this.app.readModels.instanceCollection<TenantDocument>(TENANTS);
      if (!isValidId('tenant', tenantId) || !(await tenants.findOne({ _id: tenantId }))) throw tenantNotFound(tenantId);
      return { all: true };
    }
    const scope = (await this.tenants.enter(caller, tenantId)).scope('AUDITLOG', action);
    if (!scope.all && scope.namespaces.length === 0) throw forbidden(`AUDITLOG:${action}`);
    return scope;
  }

  /** Newest first, Relay cursors over positions: `first`/`after` page towards older entries, `last`/`before` towards newer ones. */
  async list(
    caller: Caller,
    tenantId: string,
    filter: AuditLogFilterInput | null | undefined,
    paging: PageArgs,
  ): Promise<Page<AuditEntryView>> {
    const query = auditFilter(filter, await this.scope(caller, tenantId, 'LIST'));
    const direction = pageDirection(paging, 50, 500);
    const size = direction.size;
    const field = direction.backward ? 'before' : 'after';
    const position = direction.cursor ? Number(decodeCursor(field, direction.cursor, 1)[0]) : null;
    if (position !== null && !Number.isSafeInteger(position)) throw badInput(field, `${field} is not a cursor returned by this list`);
    const entries = this.entries(tenantId);
    const bound = position === null ? null : { position: direction.backward ? { $gt: position } : { $lt: position } };
    const page = bound ? { $and: [query, bound] } : query;
    const rows = size === 0 ? [] : await entries.find(page, { sort: { position: direction.backward ? 1 : -1 }, limit: size + 1 });
    return toPage(rows, size, () => entries.countDocuments(query), positionCursor, toView, direction);
  }

  /** Authorizes at once, then streams matching entries oldest first without holding them. */
  async exportEntries(caller: Caller, tenantId: string, filter: AuditLogFilterInput | null | undefined): Promise<AuditExport> {
    const query = auditFilter(filter, await this.scope(caller, tenantId, 'EXPORT'));
    // An export reads as much as the trail holds: one of the tenant's slots for expensive work, refused at once when none is free.
    const slot = this.app.heavy.acquire(tenantId, 'audit export');
    const docs = this.entries(tenantId).stream(query, { sort: { position: 1 } });
    // No deadline (a download may take long), but time slices: a client that reads fast must not hold the event loop.
    const slicer = new Slicer();
    const entries = (async function* () {
      try {
        for await (const doc of docs) {
          yield toView(doc);
          await slicer.tick();
        }
      } finally {
        slot.release();
      }
    })();
    return Object.assign(entries, { close: () => slot.release() });
  }

  /**
   * Verifies the tenant's chain against the event log: by default
   * incrementally, from the last entry verified before (its hash must still
   * be the one verified: a rewritten past shows there), then every entry
   * appended since; with `full`, from the first entry. Needs AUDITLOG:LIST on
   * the whole tenant. Runs in time slices within the caller's deadline and
   * takes one of the tenant's slots for expensive work; progress is saved
   * every few thousand entries, so a verification cut by the deadline goes on
   * from there next time. A full verification of a large trail belongs in a
   * background job (AuditVerificationJobs).
   */
  async verify(
    caller: Caller,
    tenantId: string,
    options: { full?: boolean; onProgress?: (checked: number) => void } = {},
  ): Promise<AuditVerification> {
    await this.requireWholeTrail(caller, tenantId);
    return this.app.heavy.run(tenantId, 'audit verification', () =>
      this.verifyNow(tenantId, { full: options.full ?? false, slicer: caller.slicer(), onProgress: options.onProgress }),
    );
  }

  /** How many entries the trail holds, as its chain head counts them (no scan); null before the head counted. */
  async trailLength(tenantId: string): Promise<number | null> {
    const heads = this.app.readModels.forTenant<ChainHeadDocument>(AUDIT_CHAIN_HEADS, tenantId);
    return (await heads.findOne({ _id: tenantId }))?.entries ?? null;
  }

  /** Refuses anyone who may not list the whole trail (verification reads all of it). */
  async requireWholeTrail(caller: Caller, tenantId: string): Promise<void> {
    const scope = await this.scope(caller, tenantId, 'LIST');
    if (!scope.all) throw forbidden('AUDITLOG:LIST');
  }

  private verifiedPoints(tenantId: string): TenantCollection<VerifiedPointDocument> {
    return this.app.readModels.forTenant<VerifiedPointDocument>(AUDIT_VERIFIED, tenantId);
  }

  private async savePoint(tenantId: string, position: number, hash: string, checkedEntries: number, full: boolean): Promise<void> {
    const now = new Date().toISOString();
    await this.verifiedPoints(tenantId).updateOne(
      { _id: tenantId },
      { $set: { position, hash, checkedEntries, verifiedAt: now, ...(full ? { fullAt: now } : {}) } },
      { upsert: true },
    );
  }

  /**
   * The verification itself, without authorization or limits (the CLI and
   * background jobs call it directly). It runs in two passes, each reporting
   * progress against a total known before it starts: the ledger's
   * (`onLedgerProgress`: events of the log checked, of the ledger's size) then
   * the chain's (`onProgress`: entries verified, of the chain's length as its
   * head counts it; null for a head written before it counted).
   */
  /**
   * An entry no event can explain because the log has not reached its
   * position: the passes check entries up to the projection's position only,
   * so one written past the log's end would otherwise go unseen. The entry
   * is read before the log's head (which only grows, and an entry's event is
   * in the log before the entry is written): a new entry written meanwhile
   * is never taken for one. One indexed read of the newest entry.
   */
  private async entryPastTheLog(tenantId: string, upTo: number): Promise<AuditEntryDocument | null> {
    const [newest] = await this.entries(tenantId).find({ position: { $gt: upTo } }, { sort: { position: -1 }, limit: 1 });
    if (!newest) return null;
    return newest.position > (await this.app.events.headPosition()) ? newest : null;
  }

  async verifyNow(
    tenantId: string,
    options: {
      full: boolean;
      slicer?: Slicer | undefined;
      onProgress?: ((checked: number, total: number | null) => void) | undefined;
      onLedgerProgress?: ((checked: number, total: number) => void) | undefined;
      /**
       * Where the passes run: `auto` on a verification thread when there are
       * THREAD_MIN_EVENTS or more to check and the stores allow one, else on
       * the event loop; `main` always on the event loop, `thread` on a
       * thread whenever the stores allow (benchmarks and tests compare them).
       */
      thread?: 'auto' | 'main' | 'thread' | undefined;
    },
  ): Promise<AuditVerification> {
    const upTo = this.progress.appliedPosition;
    // Read before the ledger's head (the ledger is written before its projection moves): every event up to it must be in the ledger.
    const ledgerUpTo = this.ledgerApplied();
    const entries = this.entries(tenantId);
    const heads = this.app.readModels.forTenant<ChainHeadDocument>(AUDIT_CHAIN_HEADS, tenantId);
    const head = await heads.findOne({ _id: tenantId });
    const point = options.full ? null : await this.verifiedPoints(tenantId).findOne({ _id: tenantId });
    let from: ChainLink = GENESIS;
    let before = 0;
    if (point) {
      const boundary = await entries.findOne({ position: point.position });
      if (!boundary || boundary.hash !== point.hash) {
        return {
          ok: false,
          tenantId,
          checkedEntries: 0,
          newlyCheckedEntries: 0,
          incremental: true,
          verifiedFrom: String(point.position),
          verifiedUpTo: String(upTo),
          lastHash: null,
          firstBrokenEntryId: boundary?._id ?? null,
          firstBrokenPosition: String(point.position),
          reason: boundary
            ? 'the last verified entry no longer has the hash it was verified with (history before it was rewritten)'
            : 'the last verified entry is gone from the read model',
          source: 'readModel',
        };
      }
      from = { position: point.position, hash: point.hash };
      before = point.checkedEntries;
    }
    const full = from.position === 0;

    // The log itself: against the ledger's leaves and every signed checkpoint.
    const ledgerPoint = point?.ledgerFrontier
      ? {
          size: point.ledgerSize ?? 0,
          position: point.ledgerPosition ?? 0,
          frontier: point.ledgerFrontier.map((h) => Buffer.from(h, 'hex')),
        }
      : null;
    const ledgerFrom = full ? null : ledgerPoint;
    const rewritten = ledgerFrom ? await this.ledgerRewritten(tenantId, ledgerFrom) : null;
    let lastLink = from;
    const passes: PassResult = rewritten
      ? { ledger: rewritten, chain: null }
      : await this.runPasses(
          tenantId,
          { tenantId, ledgerFrom, from, head: head ? { hash: head.hash, position: head.position } : null, upTo, ledgerUpTo },
          {
            slicer: options.slicer,
            onLedgerProgress: options.onLedgerProgress,
            onChainProgress: async (checked, last) => {
              options.onProgress?.(before + checked, head?.entries ?? null);
              lastLink = last;
              // Saved as it goes: a verification stopped by its deadline resumes from here.
              if (last.hash !== null && last.position > from.position)
                await this.savePoint(tenantId, last.position, last.hash, before + checked, false);
            },
          },
          options.thread ?? 'auto',
        );
    const { ledger } = passes;
    if (ledger.problem || !passes.chain) {
      const problem = ledger.problem ?? {
        position: from.position,
        eventId: null,
        reason: 'the ledger pass ended without a result',
        source: 'ledger' as const,
      };
      return {
        ok: false,
        tenantId,
        checkedEntries: before,
        newlyCheckedEntries: 0,
        incremental: !full,
        verifiedFrom: String(from.position),
        verifiedUpTo: String(upTo),
        lastHash: null,
        firstBrokenEntryId: problem.eventId,
        firstBrokenPosition: String(problem.position),
        reason: problem.reason,
        source: problem.source,
        checkedEvents: ledger.checkedEvents,
        checkedCheckpoints: ledger.checkedCheckpoints,
      };
    }
    const added = passes.chain.ok ? await this.entryPastTheLog(tenantId, upTo) : null;
    const result: AuditVerification = added
      ? {
          ...passes.chain,
          ok: false,
          firstBrokenEntryId: added._id,
          firstBrokenPosition: String(added.position),
          reason: 'the entry has no event in the log (added past its end)',
          source: 'eventLog',
        }
      : passes.chain;
    if (result.ok && full && lastLink.hash !== null) {
      await this.savePoint(tenantId, lastLink.position, lastLink.hash, result.checkedEntries, true);
    }
    if (result.ok) await this.saveLedgerPoint(tenantId, ledger);
    return {
      ...result,
      checkedEntries: before + result.checkedEntries,
      checkedEvents: ledger.checkedEvents,
      checkedCheckpoints: ledger.checkedCheckpoints,
    };
  }

  /**
   * The two passes, on a verification thread of their own where the stores
   * allow it (verification-thread.ts), else here in time slices.
   */
  private async runPasses(
    tenantId: string,
    input: PassInput,
    callbacks: PassCallbacks,
    thread: 'auto' | 'main' | 'thread',
  ): Promise<PassResult> {
    const threads = this.app.verificationThreads;
    // A thread costs its start (loading the stores' modules, opening connections): worth it for long work only.
    const large = async () => ((await this.app.ledger.head(tenantId))?.size ?? 0) - (input.ledgerFrom?.size ?? 0) >= THREAD_MIN_EVENTS;
    const always = this.app.config.verificationThread === 'always';
    if (threads && (thread === 'thread' || (thread === 'auto' && (always || (await large()))))) {
      return threads.run(
        {
          auditLogsCollection: this.app.readModels.physicalName(AUDIT_LOGS),
          trustedPem: this.app.signing.trusted
            .list()
            .map((k) => k.publicKeyPem)
            .join(''),
          witnessFile: this.app.config.auditWitnessFile,
          input,
        },
        callbacks,
      );
    }
    return runVerificationPasses(
      {
        events: this.app.events,
        ledger: this.app.ledger,
        trusted: this.app.signing.trusted,
        upcasters: this.app.upcasters,
        witnessFile: this.app.config.auditWitnessFile,
        entries: this.entries(tenantId),
      },
      input,
      callbacks,
    );
  }

  /** How far the ledger projection has hashed the log (0 when it does not run in this application). */
  private ledgerApplied(): number {
    try {
      return this.app.projections.runner(LEDGER_PROJECTION.name).appliedPosition;
    } catch {
      return 0;
    }
  }

  /**
   * Before an incremental run: the ledger's stored tree must still extend
   * the tree verified last time (a consistency proof from its own nodes),
   * else its past was rewritten where an incremental run no longer looks.
   */
  private async ledgerRewritten(tenantId: string, from: LedgerPoint): Promise<LedgerVerification | null> {
    const head = await this.app.ledger.head(tenantId);
    const size = head?.size ?? 0;
    const fromRoot = new Frontier(from.size, from.frontier).root();
    const problem = (reason: string): LedgerVerification => ({
      problem: { position: from.position, eventId: null, reason, source: 'ledger' },
      checkedEvents: 0,
      checkedCheckpoints: 0,
      ...from,
    });
    if (!head || size < from.size) return problem(`the ledger holds ${size} events, fewer than the ${from.size} verified before`);
    const nodes = async (level: number, index: number) => {
      const hash = await this.app.ledger.node(tenantId, level, index);
      if (!hash) throw new Error(`missing ledger node ${level}/${index}`);
      return hash;
    };
    try {
      const proof = await consistencyProof(nodes, from.size, size);
      const headRoot = new Frontier(size, head.frontier).root();
      if (verifyConsistency(from.size, size, fromRoot, headRoot, proof)) return null;
    } catch {
      // A missing node: the same answer as a failed proof.
    }
    return problem('the ledger no longer extends the tree verified before (its past was rewritten)');
  }

  private async saveLedgerPoint(tenantId: string, ledger: LedgerVerification): Promise<void> {
    await this.verifiedPoints(tenantId).updateOne(
      { _id: tenantId },
      { $set: { ledgerSize: ledger.size, ledgerPosition: ledger.position, ledgerFrontier: ledger.frontier.map((h) => h.toString('hex')) } },
      { upsert: true },
    );
  }

  /**
   * The process's fan-out of new audit entries to live subscriptions (one
   * store read per applied batch and tenant, whatever the number of them).
   */
  readonly hub = new AuditHub(() => this.app.projections.runner(AUDIT_PROJECTION));

  /**
   * A live feed of the entries matching `filter`: after `afterPosition` when
   * given (what a reconnecting client missed, then what comes), otherwise
   * from now on. Ends when the subscriber loses AUDITLOG:LIST.
   */
  async follow(
    caller: Caller,
    tenantId: string,
    filter: AuditLogFilterInput | null | undefined,
    afterPosition: number | null,
  ): Promise<AuditFeed> {
    const initial = feedFilter(filter, await this.scope(caller, tenantId, 'LIST'));
    const recheck = async (): Promise<FeedFilter | null> => {
      caller.invalidateAccess();
      try {
        return feedFilter(filter, await this.scope(caller, tenantId, 'LIST'));
      } catch {
        return null;
      }
    };
    return new AuditFeed(this.hub, { tenantId, filter: initial, after: afterPosition, recheck });
  }
}
