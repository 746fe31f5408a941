/**
 * A runner's stored checkpoint: where it stands as far as the runner knows,
 * its compare-and-set moves (one at a time), and the deferral of moves that
 * write nothing else.
 */
import type { Collection, Document } from '../../readmodels/port.js';

export interface CheckpointDocument extends Document {
  position: number;
  updatedAt: string;
}

export const CHECKPOINTS = 'projection_checkpoints';

/**
 * The one naming of checkpoint ids: a projection's generation (`flows_v2`),
 * or, for a tenant's rebuild into it, that generation's per-tenant
 * checkpoint (`flows_v2@acme`). Leases of a generation use the same id.
 */
export const checkpointIdOf = (projectionName: string, target: string, tenantId?: string): string =>
  tenantId === undefined ? `${projectionName}_${target}` : `${projectionName}_${target}@${tenantId}`;

/** The checkpoint was not where this runner left it: another runner of the same projection moved it. */
export class CheckpointMovedError extends Error {
  override readonly name = 'CheckpointMovedError';
  constructor(
    readonly checkpointId: string,
    readonly storedPosition: number | null,
  ) {
    super(`checkpoint ${checkpointId} moved concurrently to ${storedPosition ?? 'nothing'}`);
  }
}

export class CheckpointWriter {
  /** What the stored checkpoint says, as far as this runner knows: compare-and-set moves it from here. */
  stored = 0;
  updatedAt: string | null = null;
  /** The serialised checkpoint writes (the loop's and the deferred flush). */
  private checkpointing: Promise<unknown> = Promise.resolve();
  private deferredFlush: NodeJS.Timeout | null = null;

  constructor(
    private readonly checkpoints: Collection<CheckpointDocument>,
    private readonly checkpointId: string,
  ) {}

  read(): Promise<CheckpointDocument | null> {
    return this.checkpoints.findOne({ _id: this.checkpointId });
  }

  /** Stores a checkpoint at 0 unless there is one. */
  async create(): Promise<void> {
    await this.checkpoints.updateOne(
      { _id: this.checkpointId },
      { $setOnInsert: { position: 0, updatedAt: new Date().toISOString() } },
      { upsert: true },
    );
  }

  /** Runs `write` in the queue of checkpoint moves, after the moves before it. */
  serialized<T>(write: () => Promise<T>): Promise<T> {
    const run = this.checkpointing.then(write);
    this.checkpointing = run.then(
      () => undefined,
      () => undefined,
    );
    return run;
  }

  /** Moves the stored checkpoint to `position` (one write at a time: the loop's and the deferred flush never race). */
  store(position: number): Promise<void> {
    const write = this.checkpointing.then(async () => {
      if (position <= this.stored) return;
      const updatedAt = await this.move(this.stored, position);
      this.stored = position;
      this.updatedAt = updatedAt;
    });
    this.checkpointing = write.catch(() => undefined);
    return write;
  }

  /** A checkpoint move left for later: `flush` runs after `ms` unless a write makes it first. */
  defer(ms: number, flush: () => void): void {
    if (this.deferredFlush !== null) return;
    this.deferredFlush = setTimeout(() => {
      this.deferredFlush = null;
      flush();
    }, ms);
    this.deferredFlush.unref();
  }

  cancelDeferred(): void {
    if (this.deferredFlush !== null) clearTimeout(this.deferredFlush);
    this.deferredFlush = null;
  }

  /** Compare-and-set of the stored checkpoint from `from` to `to`; returns its new updatedAt. */
  async move(from: number, to: number): Promise<string> {
    const updatedAt = new Date().toISOString();
    const result = await this.checkpoints.updateOne({ _id: this.checkpointId, position: from }, { $set: { position: to, updatedAt } });
    if (result.matchedCount === 0) {
      // Someone else moved the checkpoint (another runner of the same projection).
      // Continue from what is stored rather than overwrite it backwards.
      const stored = await this.checkpoints.findOne({ _id: this.checkpointId });
      throw new CheckpointMovedError(this.checkpointId, stored?.position ?? null);
    }
    return updatedAt;
  }
}
