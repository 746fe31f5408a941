import type { EventStore, EventSubscription, RecordedEvent } from '../../eventstore/port.js';
import type { UpcasterRegistry } from '../../events/upcasting.js';
import type { Collection, Document, DocumentStore } from '../../readmodels/port.js';
import type { Logger } from '../../shared/logger.js';
import type { Projection, ProjectionTarget } from './projection.js';

export interface CheckpointDocument extends Document {
  position: number;
  updatedAt: string;
}

export const CHECKPOINTS = 'projection_checkpoints';

export function physicalCollection(projection: Pick<Projection, 'version'>, logicalName: string): string {
  return `${logicalName}_v${projection.version}`;
}

export interface RunnerStatus {
  projection: string;
  version: number;
  position: number;
  running: boolean;
  /** The failure the runner is retrying, if any. */
  error: string | null;
  failedAt: number | null;
  updatedAt: string | null;
}

export interface RunnerOptions {
  batchSize?: number;
  /** Only events of streams with this prefix (a tenant rebuild). */
  streamPrefix?: string;
  /** Checkpoint id; defaults to `${name}_v${version}`. */
  checkpointId?: string;
  maxBackoffMs?: number;
}

/**
 * Runs one projection: catch up from its checkpoint, then follow the log.
 * A batch is applied, then its checkpoint is moved compare-and-set; a crash in
 * between re-delivers the batch, which the position guards make harmless.
 */
export class ProjectionRunner implements ProjectionTarget {
  private position = 0;
  private running = false;
  private subscription: EventSubscription | null = null;
  private loop: Promise<void> | null = null;
  private error: string | null = null;
  private failedAt: number | null = null;
  private updatedAt: string | null = null;
  private waiters: { position: number; resolve: () => void }[] = [];
  private readonly checkpointId: string;
  private readonly checkpoints: Collection<CheckpointDocument>;
  /** Called after each applied batch (metrics, notifications). */
  onApplied: ((events: readonly RecordedEvent[], position: number) => void) | null = null;

  constructor(
    private readonly events: EventStore,
    readonly store: DocumentStore,
    readonly projection: Projection,
    private readonly upcasters: UpcasterRegistry,
    private readonly logger: Logger,
    private readonly options: RunnerOptions = {},
  ) {
    this.checkpointId = options.checkpointId ?? `${projection.name}_v${projection.version}`;
    this.checkpoints = store.collection<CheckpointDocument>(CHECKPOINTS);
  }

  collection<T extends Document = Document>(logicalName: string): Collection<T> {
    if (!(logicalName in this.projection.collections)) {
      throw new Error(`projection ${this.projection.name} does not own collection ${logicalName}`);
    }
    return this.store.collection<T>(physicalCollection(this.projection, logicalName));
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
      error: this.error,
      failedAt: this.failedAt,
      updatedAt: this.updatedAt,
    };
  }

  async prepare(): Promise<void> {
    for (const [name, indexes] of Object.entries(this.projection.collections)) {
      if (indexes.length > 0) await this.collection(name).createIndexes(indexes);
    }
    const checkpoint = await this.checkpoints.findOne({ _id: this.checkpointId });
    if (checkpoint) {
      this.position = checkpoint.position;
      this.updatedAt = checkpoint.updatedAt;
    } else {
      await this.checkpoints.updateOne(
        { _id: this.checkpointId },
        { $setOnInsert: { position: 0, updatedAt: new Date().toISOString() } },
        { upsert: true },
      );
      this.position = 0;
    }
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.subscription?.close();
    await this.loop;
    this.loop = null;
    for (const waiter of this.waiters) waiter.resolve();
    this.waiters = [];
  }

  /** Resolves true once every event up to `position` is applied, false on timeout. */
  waitFor(position: number, timeoutMs: number): Promise<boolean> {
    if (this.position >= position) return Promise.resolve(true);
    return new Promise((resolve) => {
      const waiter = { position, resolve: () => resolve(this.position >= position) };
      this.waiters.push(waiter);
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        resolve(this.position >= position);
      }, timeoutMs);
      timer.unref();
    });
  }

  private async run(): Promise<void> {
    let backoff = 50;
    while (this.running) {
      try {
        const prefix = this.options.streamPrefix;
        this.subscription = this.events.subscribeToAll({
          after: this.position,
          batchSize: this.options.batchSize ?? 1000,
          ...(prefix === undefined ? {} : { streamPrefix: prefix }),
        });
        for await (const batch of this.subscription) {
          if (!this.running) break;
          await this.applyBatch(batch);
          backoff = 50;
        }
      } catch (error) {
        if (!this.running) break;
        this.error = error instanceof Error ? error.message : String(error);
        this.failedAt ??= this.position;
        this.logger.error({ err: error, projection: this.projection.name, position: this.position }, 'projection failed; retrying');
        await this.subscription?.close().catch(() => undefined);
        await this.reloadCheckpoint();
        await new Promise((resolve) => setTimeout(resolve, backoff).unref());
        backoff = Math.min(backoff * 2, this.options.maxBackoffMs ?? 5000);
      }
    }
  }

  /** Applies a batch read by someone else (the coordinator's shared catch-up); events at or before the checkpoint are skipped. */
  async applyBatch(batch: readonly RecordedEvent[]): Promise<void> {
    const last = batch.at(-1);
    if (!last || last.position <= this.position) return;
    const relevant = batch
      .filter((e) => e.position > this.position && this.projection.eventTypes.has(e.type))
      .map((e) => this.upcasters.upcast(e));
    if (relevant.length > 0) await this.projection.apply(relevant, this);
    await this.saveCheckpoint(last.position);
    this.error = null;
    this.failedAt = null;
    this.onApplied?.(relevant, last.position);
    const ready = this.waiters.filter((w) => w.position <= this.position);
    this.waiters = this.waiters.filter((w) => w.position > this.position);
    for (const waiter of ready) waiter.resolve();
  }

  recordFailure(error: unknown): void {
    this.error = error instanceof Error ? error.message : String(error);
    this.failedAt ??= this.position;
    this.logger.error({ err: error, projection: this.projection.name, position: this.position }, 'projection failed');
  }

  /** After a failure the stored checkpoint is the truth: resume from there. */
  private async reloadCheckpoint(): Promise<void> {
    try {
      const stored = await this.checkpoints.findOne({ _id: this.checkpointId });
      if (stored) this.position = stored.position;
    } catch {
      // The store is still down; the next attempt will try again.
    }
  }

  private async saveCheckpoint(position: number): Promise<void> {
    const updatedAt = new Date().toISOString();
    const result = await this.checkpoints.updateOne(
      { _id: this.checkpointId, position: this.position },
      { $set: { position, updatedAt } },
    );
    if (result.matchedCount === 0) {
      // Someone else moved the checkpoint (another runner of the same projection).
      // Continue from what is stored rather than overwrite it backwards.
      const stored = await this.checkpoints.findOne({ _id: this.checkpointId });
      throw new Error(`checkpoint ${this.checkpointId} moved concurrently to ${stored?.position ?? 'nothing'}`);
    }
    this.position = position;
    this.updatedAt = updatedAt;
  }
}
