import { DuplicateKeyError, type Collection, type Document } from '../../readmodels/port.js';

export interface LeaseDocument extends Document {
  owner: string;
  /** Epoch milliseconds. */
  expiresAt: number;
  /** Incremented at every change of holder: a fencing token. */
  fence: number;
  /** An operator (a tenant rebuild) asked every holder to stand by; only it may hold the lease. */
  pausedBy?: string | null;
}

export const LEASES = 'projection_leases';

/**
 * One active runner per projection across gateway replicas that share read
 * models: the holder renews before its lease expires; anyone may take over an
 * expired lease. Every change of holder bumps `fence`, and renewal is a
 * compare-and-set on (owner, fence), so a holder that was paused past its
 * expiry learns at its next renewal that it lost the lease and stops writing.
 * A batch it was already writing is harmless: writes are guarded by the
 * documents' last applied positions.
 *
 * Expiry uses the replicas' clocks: keep them in sync (NTP) and the TTL well
 * above their skew.
 */
export class ProjectionLease {
  private fence: number | null = null;
  /**
   * The lease's own operations, one at a time: a renewal started by the timer just before a graceful stop would otherwise
   * finish after the release (its compare-and-set still matches owner and fence) and hold the lease for a whole TTL again.
   */
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly leases: Collection<LeaseDocument>,
    readonly id: string,
    readonly owner: string,
    readonly ttlMs: number,
  ) {}

  get held(): boolean {
    return this.fence !== null;
  }

  /** Acquires or renews; returns whether this owner holds the lease now. */
  tryAcquire(now?: number): Promise<boolean> {
    return this.serially(() => this.acquire(now ?? Date.now()));
  }

  /** Lets another replica take over at once (graceful shutdown), and lifts this owner's pause. */
  release(): Promise<void> {
    return this.serially(() => this.give());
  }

  private serially<T>(work: () => Promise<T>): Promise<T> {
    const run = this.queue.then(work, work);
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async acquire(now: number): Promise<boolean> {
    const current = await this.leases.findOne({ _id: this.id });
    if (!current) {
      try {
        await this.leases.insertOne({ _id: this.id, owner: this.owner, expiresAt: now + this.ttlMs, fence: 1 });
        this.fence = 1;
        return true;
      } catch (error) {
        if (error instanceof DuplicateKeyError) return this.lost();
        throw error;
      }
    }
    if (current.pausedBy && current.pausedBy !== this.owner) return this.lost();
    const mine = current.owner === this.owner && current.fence === this.fence;
    if (!mine && current.expiresAt > now) return this.lost();
    const fence = mine ? current.fence : current.fence + 1;
    const result = await this.leases.updateOne(
      { _id: this.id, owner: current.owner, fence: current.fence },
      { $set: { owner: this.owner, expiresAt: now + this.ttlMs, fence } },
    );
    if (result.matchedCount !== 1) return this.lost();
    this.fence = fence;
    return true;
  }

  private async give(): Promise<void> {
    await this.leases.updateOne({ _id: this.id, pausedBy: this.owner }, { $unset: { pausedBy: '' }, $set: { expiresAt: 0 } });
    if (this.fence === null) return;
    await this.leases.updateOne({ _id: this.id, owner: this.owner, fence: this.fence }, { $set: { expiresAt: 0 } });
    this.fence = null;
  }

  /**
   * For an operator: asks every other holder to stand by (they see it at
   * their next renewal, within a third of the TTL), waits until the current
   * lease has expired, then holds it. Undone by release().
   */
  async pauseOthersAndHold(timeoutMs: number): Promise<void> {
    await this.leases.updateOne({ _id: this.id }, { $setOnInsert: { owner: '', expiresAt: 0, fence: 0 } }, { upsert: true });
    const paused = await this.leases.updateOne(
      { _id: this.id, $or: [{ pausedBy: { $exists: false } }, { pausedBy: null }, { pausedBy: this.owner }] },
      { $set: { pausedBy: this.owner } },
    );
    if (paused.matchedCount !== 1) throw new Error(`projection ${this.id} is already paused by another operator`);
    const deadline = Date.now() + timeoutMs;
    while (!(await this.tryAcquire())) {
      if (Date.now() > deadline) {
        await this.release();
        throw new Error(`the holder of ${this.id} did not stand by within ${timeoutMs} ms`);
      }
      await new Promise((resolve) => setTimeout(resolve, Math.min(250, this.ttlMs / 4)));
    }
  }

  private lost(): false {
    this.fence = null;
    return false;
  }
}
