import type { RecordedEvent } from '../eventstore/port.js';
import { chainOf, type AuditEntryDocument } from '../projections/audit/audit-entry.js';
import { AUDIT_LOGS } from '../projections/audit/audit.projection.js';
import type { Collection, Document, Filter } from '../readmodels/port.js';
import { inBackgroundLane } from '../readmodels/lanes.js';
import { tenantScoped } from '../readmodels/tenant-scoped.js';
import { forEachEntryKey, type EntryPredicate } from './audit-criteria.js';
import type { AppliedProgress } from './applied-progress.js';

/**
 * The runner that serves the audit read model (a ProjectionRunner): how far
 * it has applied the log, and the generation of collections it applied to.
 */
export interface AuditGeneration extends AppliedProgress {
  /** `from`: the position applied before the batch (see AppliedListener). */
  onApplied(listener: (events: readonly RecordedEvent[], position: number, from: number) => void): () => void;
  collection<T extends Document = Document>(logicalName: string): Collection<T>;
}

/** One live subscription, as the hub sees it (an AuditFeed). */
export interface HubSubscriber {
  readonly tenantId: string;
  /** Routing key (see criteriaKey); null: offered every entry of its tenant. */
  readonly key: string | null;
  readonly matches: EntryPredicate;
  /** A new entry it matches, in position order; must not call back into the hub. */
  push(doc: AuditEntryDocument): void;
  /** The hub could not read its tenant's entries: the subscription ends with this error. */
  fail(error: unknown): void;
}

export interface AuditHubLimits {
  /** Entries per store read (the hub's and each feed's catch-up reads). */
  pageSize: number;
  /** Entries a feed holds for a slow consumer before it drops them and catches up from the store instead. */
  bufferLimit: number;
  /** How often a feed re-checks, before delivering, that its subscriber still holds AUDITLOG:LIST. */
  recheckMs: number;
  now: () => number;
}

export const DEFAULT_HUB_LIMITS: AuditHubLimits = { pageSize: 500, bufferLimit: 10_000, recheckMs: 10_000, now: () => Date.now() };

/** Upper bound of one idle wait; the loop simply looks again afterwards (and notices a replaced runner). */
const IDLE_MS = 1_000;

/** The subscriptions of one tenant, filed by routing key. */
class TenantSubscribers {
  readonly unkeyed = new Set<HubSubscriber>();
  readonly byKey = new Map<string, Set<HubSubscriber>>();
  size = 0;

  add(sub: HubSubscriber): void {
    this.size++;
    if (sub.key === null) {
      this.unkeyed.add(sub);
      return;
    }
    let set = this.byKey.get(sub.key);
    if (!set) this.byKey.set(sub.key, (set = new Set()));
    set.add(sub);
  }

  /** Removes `sub` as filed under `key`; false when it was not there. */
  remove(sub: HubSubscriber, key: string | null): boolean {
    let removed: boolean;
    if (key === null) removed = this.unkeyed.delete(sub);
    else {
      const set = this.byKey.get(key);
      removed = set?.delete(sub) ?? false;
      if (set?.size === 0) this.byKey.delete(key);
    }
    if (removed) this.size--;
    return removed;
  }

  all(): HubSubscriber[] {
    return [...this.unkeyed, ...[...this.byKey.values()].flatMap((set) => [...set])];
  }

  /** Offers `doc` to the subscriptions filed under its keys and to the unkeyed ones: O(keys of the entry + candidates). */
  dispatch(doc: AuditEntryDocument): void {
    for (const sub of this.unkeyed) if (sub.matches(doc)) sub.push(doc);
    if (this.byKey.size === 0) return;
    forEachEntryKey(doc, (key) => {
      const set = this.byKey.get(key);
      if (set) for (const sub of set) if (sub.matches(doc)) sub.push(doc);
    });
  }
}

/**
 * Fans the audit log out to every live subscription of this process.
 *
 * It follows the audit projection's applied position (whichever runner
 * serves the read model; a blue/green rebuild may replace it). When the
 * position moves from `a` to `b` and someone subscribes, it reads the new
 * entries once for everybody: per tenant that has subscribers (only those
 * that had events in the applied batches, when that is known) one query
 * `{tenantId, position: (a, b]}` by position, in pages. Each entry is then
 * offered only to the candidate subscriptions its routing keys find, whose
 * predicates decide. Nobody subscribed: it reads nothing and does not run.
 *
 * Store work per applied batch: one read per tenant that had events and has
 * subscribers, whatever the number of subscriptions and the history length.
 *
 * A new subscription learns its `target`: every entry of its tenant above
 * it will be pushed to it; entries at or below it it reads itself (a feed
 * resuming after a position catches up from the store up to there).
 */
export class AuditHub {
  private readonly tenants = new Map<string, TenantSubscribers>();
  private count = 0;
  /** Every entry at or below this position has been offered to the subscriptions registered at the time. */
  private dispatched = 0;
  /** The generation that applied up to `dispatched` (catch-up reads at or below it go there). */
  private generation: AuditGeneration | null = null;
  /** During a round: its upper bound, and how far each tenant still being read has been dispatched. */
  private roundUpTo = 0;
  private readonly cursors = new Map<string, number>();
  private running = false;
  private wakeLoop: (() => void) | null = null;
  private waiters: { position: number; resolve: () => void }[] = [];

  /** Which tenants had events, as far as this process applied them (to read only those). */
  private attached: AuditGeneration | null = null;
  private detach: (() => void) | null = null;
  private coveredFrom = 0;
  private coveredTo = 0;
  private readonly touched = new Map<string, number>();

  constructor(
    private readonly current: () => AuditGeneration,
    readonly limits: AuditHubLimits = { ...DEFAULT_HUB_LIMITS },
  ) {}

  /** Position up to which every subscription has been offered its entries. */
  get dispatchedPosition(): number {
    return this.dispatched;
  }

  get subscriberCount(): number {
    return this.count;
  }

  /** Resolves once entries up to `position` were dispatched (or at once when nobody subscribes). */
  settled(position: number): Promise<void> {
    if (this.dispatched >= position || this.count === 0) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ position, resolve }));
  }

  /**
   * Files a subscription; returns its target: entries of its tenant above it
   * are pushed to it, those at or below it are its own to read.
   */
  register(sub: HubSubscriber): number {
    if (!this.running) {
      // Nobody subscribed until now: nobody needs what was applied meanwhile, nor depends on where the hub was.
      const generation = this.current();
      this.generation = generation;
      this.dispatched = this.roundUpTo = generation.appliedPosition;
    }
    let bucket = this.tenants.get(sub.tenantId);
    if (!bucket) this.tenants.set(sub.tenantId, (bucket = new TenantSubscribers()));
    bucket.add(sub);
    this.count++;
    if (!this.running) {
      this.running = true;
      // Started by whichever subscriber came first, but it serves them all: never refused as that one's request.
      void inBackgroundLane(() => this.run());
    }
    return this.cursors.get(sub.tenantId) ?? this.roundUpTo;
  }

  /** Files a registered subscription under its new key (its criteria changed). */
  refile(sub: HubSubscriber, previousKey: string | null): void {
    const bucket = this.tenants.get(sub.tenantId);
    if (bucket?.remove(sub, previousKey)) bucket.add(sub);
  }

  unregister(sub: HubSubscriber): void {
    const bucket = this.tenants.get(sub.tenantId);
    if (!bucket?.remove(sub, sub.key)) return;
    this.count--;
    if (bucket.size === 0) this.tenants.delete(sub.tenantId);
    if (this.count === 0) {
      this.wakeLoop?.();
      this.resolveWaiters(Number.POSITIVE_INFINITY);
    }
  }

  /**
   * A feed's own read (catch-up): entries of `tenantId` matching `query`
   * with `after < position <= upTo`, oldest first, from a generation that
   * has applied `upTo`.
   */
  read(tenantId: string, query: Filter, after: number, upTo: number, limit: number): Promise<AuditEntryDocument[]> {
    const now = this.current();
    const generation = now.appliedPosition >= upTo || !this.generation ? now : this.generation;
    return this.entries(generation, tenantId).find(
      { $and: [query, { position: { $gt: after, $lte: upTo } }] },
      { sort: { position: 1 }, limit },
    );
  }

  private entries(generation: AuditGeneration, tenantId: string) {
    return tenantScoped(generation.collection<AuditEntryDocument>(AUDIT_LOGS), tenantId);
  }

  private async run(): Promise<void> {
    try {
      while (this.count > 0) {
        const generation = this.current();
        this.follow(generation);
        const applied = generation.appliedPosition;
        // After a switch the new runner may not have reached what the old one applied yet: wait for it.
        if (applied <= this.dispatched) await this.idle(generation);
        else await this.round(generation, applied);
      }
    } catch (error) {
      // No serving runner any more, or a fault of the hub itself: end every subscription (clients resume with afterPosition).
      this.failAll(error);
    } finally {
      this.running = false;
      this.cursors.clear();
      this.roundUpTo = this.dispatched;
      this.detach?.();
      this.detach = null;
      this.attached = null;
      this.touched.clear();
      this.resolveWaiters(Number.POSITIVE_INFINITY);
    }
  }

  private idle(generation: AuditGeneration): Promise<void> {
    return new Promise<void>((resolve) => {
      this.wakeLoop = resolve;
      void generation.waitFor(this.dispatched + 1, IDLE_MS).then(() => resolve());
    }).finally(() => {
      this.wakeLoop = null;
    });
  }

  /** Reads and dispatches the entries in (dispatched, upTo], once for all subscriptions. */
  private async round(generation: AuditGeneration, upTo: number): Promise<void> {
    const from = this.dispatched;
    const tenants = this.tenantsToRead(generation, from, upTo);
    this.roundUpTo = upTo;
    for (const tenantId of tenants) this.cursors.set(tenantId, from);
    const limit = this.limits.pageSize;
    for (const tenantId of tenants) {
      try {
        const entries = this.entries(generation, tenantId);
        for (let after = from; ;) {
          // Its last subscriber left: a newcomer reads up to the round's end itself.
          if (!this.tenants.has(tenantId)) break;
          const page = await entries.find({ position: { $gt: after, $lte: upTo } }, { sort: { position: 1 }, limit });
          const bucket = this.tenants.get(tenantId);
          // Synchronously with the cursor, so that a subscription registering now gets exactly the rest.
          if (bucket) for (const doc of page) bucket.dispatch(doc);
          const last = page.at(-1);
          if (page.length < limit || !last) break;
          after = last.position;
          this.cursors.set(tenantId, after);
        }
      } catch (error) {
        this.failTenant(tenantId, error);
      }
      this.cursors.delete(tenantId);
    }
    this.dispatched = upTo;
    this.generation = generation;
    for (const [tenantId, position] of this.touched) if (position <= upTo) this.touched.delete(tenantId);
    this.resolveWaiters(upTo);
  }

  /**
   * The tenants to read for (from, upTo]: those with subscribers and, when
   * this process applied every batch of that stretch itself, events in it.
   */
  private tenantsToRead(generation: AuditGeneration, from: number, upTo: number): string[] {
    const known = this.attached === generation && this.coveredFrom <= from && this.coveredTo >= upTo;
    if (!known) return [...this.tenants.keys()];
    const out: string[] = [];
    if (this.touched.size < this.tenants.size) {
      for (const [tenantId, position] of this.touched) if (position > from && this.tenants.has(tenantId)) out.push(tenantId);
    } else {
      for (const tenantId of this.tenants.keys()) if ((this.touched.get(tenantId) ?? 0) > from) out.push(tenantId);
    }
    return out;
  }

  /** Listens to the batches `generation` applies, to know which tenants had events. */
  private follow(generation: AuditGeneration): void {
    if (this.attached === generation) return;
    this.detach?.();
    this.attached = generation;
    this.touched.clear();
    this.coveredFrom = this.coveredTo = generation.appliedPosition;
    this.detach = generation.onApplied((events, position, from) => {
      if (from > this.coveredTo) {
        // The position moved without a batch applied here (standby, reload): what happened before is unknown.
        this.touched.clear();
        this.coveredFrom = from;
      }
      for (const event of events) this.touched.set(chainOf(event), event.position);
      if (position > this.coveredTo) this.coveredTo = position;
    });
  }

  private failTenant(tenantId: string, error: unknown): void {
    for (const sub of this.tenants.get(tenantId)?.all() ?? []) {
      this.unregister(sub);
      sub.fail(error);
    }
  }

  private failAll(error: unknown): void {
    for (const tenantId of [...this.tenants.keys()]) this.failTenant(tenantId, error);
  }

  private resolveWaiters(position: number): void {
    const ready = this.waiters.filter((w) => w.position <= position);
    this.waiters = this.waiters.filter((w) => w.position > position);
    for (const waiter of ready) waiter.resolve();
  }
}
