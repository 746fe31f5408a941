import type { Logger } from '../../shared/logger.js';
import type { RunnerStatus } from './runner.js';

/** A projection behind the head of the log whose position has not moved for the watchdog's threshold. */
export interface Stall {
  /** Epoch ms of the last time its position moved (or the watchdog first saw it behind). */
  since: number;
  seconds: number;
  /** Why, in words: the failure it retries, or what it has been awaiting. */
  reason: string;
}

interface Seen {
  position: number;
  /** When the position last changed while behind. */
  movedAt: number;
  stalled: boolean;
}

/**
 * Reports a projection that is behind the head and not moving, whatever the
 * cause: a failure it keeps retrying, or an await that never ends (an
 * operation of a store that never answers). It only observes: the runner
 * recovers by itself or it does not, and either way the operator learns of
 * it in /readyz, /metrics and the log (once per change of state).
 */
export class ProjectionWatchdog {
  private readonly seen = new Map<string, Seen>();
  private readonly stalls = new Map<string, Stall>();

  constructor(
    private readonly logger: Logger,
    /** How long a projection may stay behind without moving. */
    readonly stallMs: number,
  ) {}

  /** One look at every runner; `head` is the log's head position, `now` the clock. */
  check(statuses: readonly RunnerStatus[], head: number, now = Date.now()): void {
    const names = new Set<string>();
    for (const status of statuses) {
      names.add(status.projection);
      const seen = this.seen.get(status.projection);
      const behind = status.running && status.role === 'active' && status.position < head;
      if (!behind) {
        this.seen.delete(status.projection);
        this.clear(status.projection, status, 'caught up');
        continue;
      }
      if (!seen || seen.position !== status.position) {
        this.seen.set(status.projection, { position: status.position, movedAt: now, stalled: false });
        if (seen?.stalled) this.clear(status.projection, status, 'moving again');
        continue;
      }
      if (now - seen.movedAt < this.stallMs) continue;
      const reason =
        status.error !== null
          ? `failing: ${status.error}`
          : `${status.activity} (for ${Math.round((now - status.activitySince) / 1000)} s), no failure reported`;
      const stall: Stall = { since: seen.movedAt, seconds: Math.round((now - seen.movedAt) / 1000), reason };
      this.stalls.set(status.projection, stall);
      if (!seen.stalled) {
        seen.stalled = true;
        this.logger.error(
          { projection: status.projection, position: status.position, head, stalledSeconds: stall.seconds, reason },
          'projection stalled: behind the log and not moving',
        );
      }
    }
    for (const name of [...this.stalls.keys()]) if (!names.has(name)) this.stalls.delete(name);
  }

  /** The stall of a projection, or null when it is moving (or caught up). */
  stall(projection: string): Stall | null {
    return this.stalls.get(projection) ?? null;
  }

  private clear(projection: string, status: RunnerStatus, why: string): void {
    if (!this.stalls.delete(projection)) return;
    this.logger.info({ projection, position: status.position }, `projection no longer stalled: ${why}`);
  }
}
