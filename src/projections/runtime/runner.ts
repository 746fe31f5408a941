import type { EventStore, EventSubscription, RecordedEvent } from '../../eventstore/port.js';
import type { UpcasterRegistry } from '../../events/upcasting.js';
import { inTransaction, transactionsOf, type Collection, type Document, type DocumentStore } from '../../readmodels/port.js';
import { inBackgroundLane } from '../../readmodels/lanes.js';
import type { Logger } from '../../shared/logger.js';
import { Slicer } from '../../shared/slices.js';
import { physicalName, targetFor } from './aliases.js';
import { CHECKPOINTS, CheckpointMovedError, checkpointIdOf, CheckpointWriter, type CheckpointDocument } from './checkpoints.js';
import { LEASES, ProjectionLease, type LeaseDocument } from './lease.js';
import { isOutage, isolate, PoisonEventError } from './poison.js';
import { PositionWaiters } from './waiters.js';
import type { Projection, ProjectionTarget } from './projection.js';

/** Longest wait of a standby replica between two attempts at the lease (one small read each). */
const STANDBY_LEASE_RETRY_MS = 1_000;
/** A checkpoint move of batches without this projection's events waits at most this long… */
const DEFER_CHECKPOINT_MS = 250;
/** …and never lets the stored checkpoint fall more events behind than this. */
const DEFER_CHECKPOINT_EVENTS = 1_000;

// Where they were defined before checkpoints.ts and poison.ts: importers of runner.js keep working.
export { CHECKPOINTS, CheckpointMovedError, type CheckpointDocument } from './checkpoints.js';
export { PARKED, PoisonEventError, type ParkedEventDocument } from './poison.js';

export interface RunnerStatus {
  projection: string;
  version: number;
  position: number;
  running: boolean;
  /** active: applies events; standby: another replica holds the lease, this one follows its checkpoint. */
  role: 'active' | 'standby';
  /** The failure the runner is retrying, if any. */
  error: string | null;
  failedAt: number | null;
  updatedAt: string | null;
  /** What the runner is doing now (awaiting, mostly), for the watchdog's reason. */
  activity: string;
  /** Epoch ms since when it has been doing it. */
  activitySince: number;
}

export interface RunnerOptions {
  batchSize?: number;
  /** Only events of streams with this prefix (a tenant rebuild). */
  streamPrefix?: string;
  /** Checkpoint id; defaults to the generation's (checkpointIdOf). */
  checkpointId?: string;
  /** The generation of collections written: `v<version>` (default) or `v<version>_g<n>` for a rebuild. */
  target?: string;
  maxBackoffMs?: number;
  /**
   * With read models shared between replicas: hold a lease so that one replica
   * applies each projection and the others stand by.
   */
  lease?: { owner: string; ttlMs: number };
  /** How often a standby re-reads the shared checkpoint. Default 100 ms. */
  standbyPollMs?: number;
  /**
   * Never apply: stand by for good and follow the shared checkpoint, which
   * another process moves (a gateway with TENANTRY_PROJECTOR=off beside a
   * `tenantry project` process). Batches handed to applyBatch (rebuilds) are
   * still applied.
   */
  followOnly?: boolean;
  /**
   * An event the projection cannot apply (it throws, and the store is up):
   * `stop` (default) stops there and reports it; `park` records it in
   * `projection_parked` and goes on. Never skipped silently.
   */
  onPoison?: 'stop' | 'park';
  /** How long a checkpoint move with nothing written may wait for a write to ride on (TENANTRY_CHECKPOINT_DEFER_MS). Default 250 ms. */
  checkpointDeferMs?: number;
}

/**
 * After a batch this runner applied: the batch's events this projection takes
 * (upcast), the position now applied, and the one applied before the batch.
 * Consecutive calls are contiguous (`from` is the previous call's `position`)
 * unless the position moved without an applied batch in between (a standby
 * following another replica's checkpoint, a reload after a failure).
 */
export type AppliedListener = (events: readonly RecordedEvent[], position: number, from: number) => void;

/**
 * Runs one projection: catch up from its checkpoint, then follow the log.
 * A batch is applied, then its checkpoint is moved compare-and-set; a crash in
 * between re-delivers the batch, which the position guards make harmless.
 * Where the document store offers transactions (MongoDB replica sets), the
 * batch's writes and the checkpoint move are one transaction instead, so the
 * read models never run ahead of their checkpoint; the position guards stay,
 * and a batch that fails inside a transaction is applied again the plain way.
 *
 * A batch with no event of this projection's types changes nothing but the
 * checkpoint; its move is deferred (at most DEFER_CHECKPOINT_MS, at most
 * DEFER_CHECKPOINT_EVENTS behind) and made with the next one that is
 * written. Without that, every event cost one checkpoint write per
 * projection, relevant or not (14 writes for a createNamespace that changes
 * two read models): most of the load of a networked store in steady state.
 * The position this process answers with (read-your-writes, lag) is the
 * applied one; a crash re-applies the deferred events, which change nothing.
 */
export class ProjectionRunner implements ProjectionTarget {
  /** Applied up to here (what this process answers with). */
  private position = 0;
  /** The stored checkpoint: what it says as far as this runner knows, its moves and their deferral (checkpoints.ts). */
  private readonly checkpoint: CheckpointWriter;
  private running = false;
  private subscription: EventSubscription | null = null;
  private loop: Promise<void> | null = null;
  private error: string | null = null;
  /** Whether `error` is an outage (the store or the log did not answer): the next answer of the store ends it. */
  private errorIsOutage = false;
  private failedAt: number | null = null;
  /** Read-your-writes callers waiting for a position (waiters.ts). */
  private readonly waiters = new PositionWaiters(() => this.position);
  private activity = 'not started';
  private activitySince = Date.now();
  readonly checkpointId: string;
  readonly target: string;
  private readonly appliedListeners = new Set<AppliedListener>();
  private readonly lease: ProjectionLease | null;
  private role: 'active' | 'standby' = 'active';
  /** This runner has held its lease since it last stood by (to log an acquisition once). */
  private holding = false;
  /** Events this runner itself applied (not those a lease holder elsewhere applied). */
  appliedEvents = 0;
  /**
   * Position of the last event that changed this projection's documents (on a
   * standby replica, conservatively, the holder's checkpoint). Unlike the
   * checkpoint it does not move for events the projection ignores, so it can
   * key caches of what the projection holds.
   */
  lastChangePosition = 0;

  constructor(
    private readonly events: EventStore,
    readonly store: DocumentStore,
    readonly projection: Projection,
    private readonly upcasters: UpcasterRegistry,
    private readonly logger: Logger,
    private readonly options: RunnerOptions = {},
  ) {
    this.target = options.target ?? targetFor(projection.version);
    this.checkpointId = options.checkpointId ?? checkpointIdOf(projection.name, this.target);
    this.checkpoint = new CheckpointWriter(store.collection<CheckpointDocument>(CHECKPOINTS), this.checkpointId);
    this.lease = options.lease
      ? new ProjectionLease(store.collection<LeaseDocument>(LEASES), this.checkpointId, options.lease.owner, options.lease.ttlMs)
      : null;
  }

  /** Called after each applied batch (metrics, live feeds); returns an unsubscribe function. */
  onApplied(listener: AppliedListener): () => void {
    this.appliedListeners.add(listener);
    return () => this.appliedListeners.delete(listener);
  }

  /** True when this runner does not simply apply on its own: it holds a lease first, or only follows. */
  get usesLease(): boolean {
    return this.lease !== null || this.options.followOnly === true;
  }

  collection<T extends Document = Document>(logicalName: string): Collection<T> {
    if (!(logicalName in this.projection.collections)) {
      throw new Error(`projection ${this.projection.name} does not own collection ${logicalName}`);
    }
    return this.store.collection<T>(physicalName(logicalName, this.target));
  }

  get appliedPosition(): number {
    return this.position;
  }

  status(): RunnerStatus {
    return {
      projection: this.projection.name,
      version: this.projection.version,
      position: this.position,
      running: this.running,
      role: this.role,
      error: this.error,
      failedAt: this.failedAt,
      updatedAt: this.checkpoint.updatedAt,
      activity: this.activity,
      activitySince: this.activitySince,
    };
  }

  /** Records what the runner awaits now: a stall is reported with it. */
  private doing(activity: string): void {
    this.activity = activity;
    this.activitySince = Date.now();
  }

  async prepare(): Promise<void> {
    for (const [name, indexes] of Object.entries(this.projection.collections)) {
      if (indexes.length > 0) await this.collection(name).createIndexes(indexes);
    }
    const checkpoint = await this.checkpoint.read();
    if (checkpoint) {
      this.position = this.checkpoint.stored = checkpoint.position;
      this.checkpoint.updatedAt = checkpoint.updatedAt;
    } else {
      await this.checkpoint.create();
      this.position = this.checkpoint.stored = 0;
    }
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    // Possibly started from a request (a rebuild, a new tenant): the loop is background work all the same.
    this.loop = inBackgroundLane(() => this.run());
  }

  async stop(): Promise<void> {
    this.running = false;
    this.wake?.();
    await this.subscription?.close();
    await this.loop;
    this.loop = null;
    // Before the lease goes: the next holder starts from the stored checkpoint.
    await this.flushDeferred().catch(() => undefined);
    await this.lease?.release().catch(() => undefined);
    this.waiters.releaseAll();
  }

  /** Resolves true once every event up to `position` is applied, false on timeout. */
  waitFor(position: number, timeoutMs: number): Promise<boolean> {
    return this.waiters.waitFor(position, timeoutMs);
  }

  private wake: (() => void) | null = null;

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, ms);
      timer.unref();
      this.wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }

  /**
   * Standby: another replica applies; follow its progress through the shared
   * checkpoint. Until the lease is worth trying again, or for good with
   * `followOnly`.
   */
  private async standBy(): Promise<void> {
    this.role = 'standby';
    this.holding = false;
    const pollMs = this.options.standbyPollMs ?? 100;
    // A holder that shuts down releases its lease (expiresAt 0): a replica standing by tries again at least every
    // second, so it takes over within about a second of a SIGTERM, not a quarter of the lease time (2.5 s by default).
    const retryLeaseAt = this.options.followOnly
      ? Number.POSITIVE_INFINITY
      : Date.now() + Math.min((this.lease?.ttlMs ?? 0) / 4, STANDBY_LEASE_RETRY_MS);
    while (this.running && Date.now() < retryLeaseAt) {
      this.doing('standing by: reading the checkpoint the lease holder moves');
      const stored = await this.checkpoint.read();
      // The store answers again: a failure recorded before (an outage while following) is over.
      if (this.error !== null) {
        this.error = null;
        this.failedAt = null;
      }
      if (stored) this.checkpoint.stored = stored.position;
      if (stored && stored.position > this.position) {
        this.position = stored.position;
        this.lastChangePosition = stored.position;
        this.checkpoint.updatedAt = stored.updatedAt;
        this.waiters.resolve();
      }
      this.doing('standing by: another replica holds the lease');
      await this.sleep(pollMs);
    }
  }

  /** Keeps the lease while active; when renewal fails, stops the subscription so the loop stands by. */
  private keepLease(): () => void {
    const lease = this.lease;
    if (!lease) return () => undefined;
    const timer = setInterval(() => {
      lease
        .tryAcquire()
        .then((held) => {
          if (!held) {
            this.logger.warn({ projection: this.projection.name }, 'projection lease lost; standing by');
            void this.subscription?.close();
          }
        })
        .catch(() => void this.subscription?.close());
    }, lease.ttlMs / 3);
    timer.unref();
    return () => clearInterval(timer);
  }

  private async run(): Promise<void> {
    let backoff = 50;
    while (this.running) {
      let stopRenewing = (): void => undefined;
      try {
        if (this.lease) this.doing('acquiring the projection lease');
        if (this.options.followOnly || (this.lease && !(await this.lease.tryAcquire()))) {
          await this.standBy();
          continue;
        }
        if (this.lease) this.storeAnswered();
        if (this.lease && !this.holding) {
          this.logger.info(
            { projection: this.projection.name, owner: this.lease.owner, position: this.position },
            'projection lease acquired; applying',
          );
        }
        this.holding = true;
        this.role = 'active';
        if (this.lease) {
          this.doing('reading the checkpoint');
          await this.reloadCheckpoint();
        }
        // stop() may have come while we awaited the store: a subscription opened now would never be closed.
        if (!this.running) break;
        stopRenewing = this.keepLease();
        const prefix = this.options.streamPrefix;
        this.subscription = this.events.subscribeToAll({
          after: this.position,
          batchSize: this.options.batchSize ?? 1000,
          ...(prefix === undefined ? {} : { streamPrefix: prefix }),
        });
        const slicer = new Slicer();
        this.doing(`waiting for events after position ${this.position}`);
        for await (const batch of this.subscription) {
          if (!this.running || (this.lease && !this.lease.held)) break;
          await this.applyBatch(batch);
          backoff = 50;
          this.doing(`waiting for events after position ${this.position}`);
          // Batches follow each other without I/O in between when the log is far ahead: let requests in.
          await slicer.tick();
        }
        stopRenewing();
      } catch (error) {
        stopRenewing();
        if (!this.running) break;
        this.recordFailure(error);
        await this.subscription?.close().catch(() => undefined);
        // Events applied past the stored checkpoint without writing it (deferred) are delivered again: re-applying them
        // changes nothing, and the batch that then succeeds is what says the failure is over.
        this.checkpoint.cancelDeferred();
        this.position = this.checkpoint.stored;
        this.doing('reading the checkpoint after a failure');
        await this.reloadCheckpoint();
        this.doing(`retrying in ${backoff} ms after a failure`);
        await new Promise((resolve) => setTimeout(resolve, backoff).unref());
        backoff = Math.min(backoff * 2, this.options.maxBackoffMs ?? 5000);
      }
    }
  }

  /**
   * Applies a batch read by someone else (the coordinator's shared catch-up); events at or before the checkpoint are skipped.
   * Always in the background lane, whoever drives it (a rebuild asked for by a request): its reads are never refused as overload.
   */
  applyBatch(batch: readonly RecordedEvent[]): Promise<void> {
    return inBackgroundLane(() => this.applyInBackground(batch));
  }

  private async applyInBackground(batch: readonly RecordedEvent[]): Promise<void> {
    const last = batch.at(-1);
    if (!last || last.position <= this.position) return;
    const from = this.position;
    const relevant = batch
      .filter((e) => e.position > this.position && this.projection.eventTypes.has(e.type))
      .map((e) => (this.projection.raw ? e : this.upcasters.upcast(e)));
    this.doing(`applying ${relevant.length} events up to position ${last.position}`);
    if (!(relevant.length > 0 && transactionsOf(this.store) && (await this.applyInTransaction(relevant, last.position)))) {
      if (relevant.length > 0) {
        try {
          await this.projection.apply(relevant, this);
        } catch (error) {
          if (isOutage(error)) throw error;
          await isolate(this, this.options.onPoison, this.logger, (position) => this.saveCheckpoint(position), relevant, error);
        }
      }
      if (relevant.length === 0 && last.position - this.checkpoint.stored < DEFER_CHECKPOINT_EVENTS) {
        this.position = last.position;
        this.deferCheckpoint();
      } else {
        this.doing(`saving the checkpoint at position ${last.position}`);
        await this.saveCheckpoint(last.position);
      }
    }
    this.error = null;
    this.failedAt = null;
    this.appliedEvents += relevant.length;
    const lastRelevant = relevant.at(-1);
    if (lastRelevant) this.lastChangePosition = lastRelevant.position;
    for (const listener of this.appliedListeners) listener(relevant, last.position, from);
    this.waiters.resolve();
  }

  /**
   * The batch's writes and the checkpoint move, as one transaction: a
   * checkpoint moved by someone else (the compare-and-set fails) aborts the
   * batch's writes with it. The store retries transient transaction errors.
   * Returns false when the batch failed for a reason of its own (a poison
   * event, a duplicate key from documents written past this checkpoint by a
   * tenant rebuild, a transaction too large): nothing of it was written, and
   * the caller applies it the plain way, where the position guards make
   * re-application harmless and a poison event is isolated as always.
   *
   * NOT VERIFIED HERE: only a MongoDB replica set takes this path, and the
   * development machine has none (FerretDB and the memory store have no
   * transactions); test/integration/transactions.int.spec.ts runs it when
   * TENANTRY_TEST_MONGODB_REPLSET_URI is set.
   */
  private applyInTransaction(relevant: readonly RecordedEvent[], position: number): Promise<boolean> {
    // In the queue of checkpoint moves: a deferred move still on its way (written, `stored` not yet updated) must land
    // before this batch reads where the stored checkpoint is. Otherwise the batch's compare-and-set fails against this
    // runner's own move (CheckpointMovedError), the failure lets read-your-writes waiters go before the batch is
    // applied, and a mutation's answer is followed by a read that does not see it (seen with SQLite read models).
    return this.checkpoint.serialized(() => this.applyInTransactionNow(relevant, position));
  }

  private async applyInTransactionNow(relevant: readonly RecordedEvent[], position: number): Promise<boolean> {
    const from = this.checkpoint.stored;
    let updatedAt: string;
    try {
      updatedAt = await inTransaction(this.store, async () => {
        await this.projection.apply(relevant, this);
        return this.checkpoint.move(from, position);
      });
    } catch (error) {
      if (isOutage(error) || error instanceof CheckpointMovedError) throw error;
      this.logger.warn(
        { err: error, projection: this.projection.name, position },
        'batch failed inside a transaction (nothing written); applying it without one',
      );
      return false;
    }
    this.position = this.checkpoint.stored = position;
    this.checkpoint.updatedAt = updatedAt;
    return true;
  }

  recordFailure(error: unknown): void {
    // Callers waiting for read-your-writes learn at once that it will not come soon.
    this.waiters.releaseAll();
    this.error = error instanceof Error ? error.message : String(error);
    this.errorIsOutage = isOutage(error);
    this.failedAt = error instanceof PoisonEventError ? error.event.position : (this.failedAt ?? this.position);
    this.logger.error({ err: error, projection: this.projection.name, position: this.position }, 'projection failed');
  }

  /** After a failure the stored checkpoint is the truth: resume from there. */
  private async reloadCheckpoint(): Promise<void> {
    try {
      const stored = await this.checkpoint.read();
      if (stored) this.position = this.checkpoint.stored = stored.position;
      this.storeAnswered();
    } catch {
      // The store is still down; the next attempt will try again.
    }
  }

  /**
   * The store answered: an outage recorded before is over (a runner at the
   * head gets no batch that would say so). A failure of its own (a poison
   * event) stays until a batch applies.
   */
  private storeAnswered(): void {
    if (this.error === null || !this.errorIsOutage) return;
    this.error = null;
    this.failedAt = null;
  }

  private async saveCheckpoint(position: number): Promise<void> {
    await this.checkpoint.store(position);
    this.position = Math.max(this.position, position);
  }

  /** A checkpoint move left for later: made within checkpointDeferMs (DEFER_CHECKPOINT_MS) unless a write makes it first. */
  private deferCheckpoint(): void {
    this.checkpoint.defer(this.options.checkpointDeferMs ?? DEFER_CHECKPOINT_MS, () => {
      this.flushDeferred().catch((error: unknown) =>
        // The next written batch moves it (or, after a failure, the loop resumes from what is stored).
        this.logger.debug({ err: error, projection: this.projection.name }, 'deferred checkpoint move failed'),
      );
    });
  }

  /** Stores the applied position when the stored checkpoint is behind it. */
  private async flushDeferred(): Promise<void> {
    this.checkpoint.cancelDeferred();
    if (this.position <= this.checkpoint.stored || (this.lease && !this.lease.held)) return;
    await inBackgroundLane(() => this.checkpoint.store(this.position));
    this.storeAnswered();
  }
}
