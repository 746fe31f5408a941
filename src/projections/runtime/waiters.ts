/**
 * Read-your-writes waiting: callers that wait until a runner has applied a
 * position, let go when it has, on their timeout, or when the runner fails
 * or stops.
 */
export class PositionWaiters {
  private waiters: { position: number; resolve: () => void }[] = [];

  /** `applied`: the position the runner has applied. */
  constructor(private readonly applied: () => number) {}

  /** Resolves true once every event up to `position` is applied, false on timeout. */
  waitFor(position: number, timeoutMs: number): Promise<boolean> {
    if (this.applied() >= position) return Promise.resolve(true);
    return new Promise((resolve) => {
      const waiter = { position, resolve: () => resolve(this.applied() >= position) };
      this.waiters.push(waiter);
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        resolve(this.applied() >= position);
      }, timeoutMs);
      timer.unref();
    });
  }

  /** Lets go the waiters whose position is applied. */
  resolve(): void {
    const ready = this.waiters.filter((w) => w.position <= this.applied());
    this.waiters = this.waiters.filter((w) => w.position > this.applied());
    for (const waiter of ready) waiter.resolve();
  }

  /** Lets every waiter go (each learns whether its position is applied). */
  releaseAll(): void {
    for (const waiter of this.waiters) waiter.resolve();
    this.waiters = [];
  }
}
