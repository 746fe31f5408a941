import type { EventStore } from '../../eventstore/port.js';
import type { UpcasterRegistry } from '../../events/upcasting.js';
import type { DocumentStore } from '../../readmodels/port.js';
import type { Logger } from '../../shared/logger.js';
import type { Projection } from './projection.js';
import { ProjectionRunner, type RunnerOptions, type RunnerStatus } from './runner.js';

export interface ProjectionLag extends RunnerStatus {
  lagEvents: number;
}

/** Runs every projection of the application and answers "has everything up to P been applied?". */
export class Projections {
  readonly runners: ProjectionRunner[];

  constructor(
    private readonly events: EventStore,
    store: DocumentStore,
    projections: readonly Projection[],
    upcasters: UpcasterRegistry,
    private readonly logger: Logger,
    runnerOptions: RunnerOptions = {},
  ) {
    this.runners = projections.map(
      (p) => new ProjectionRunner(events, store, p, upcasters, logger.child({ projection: p.name }), runnerOptions),
    );
  }

  runner(name: string): ProjectionRunner {
    const runner = this.runners.find((r) => r.projection.name === name);
    if (!runner) throw new Error(`unknown projection ${name}`);
    return runner;
  }

  private catchingUp: Promise<void> | null = null;
  private stopping = false;

  /**
   * Prepares every projection (indexes, checkpoints), then catches up in the
   * background: the log is read ONCE and each batch goes to every projection,
   * instead of every projection reading and parsing the whole log itself.
   * Once at the head, each projection follows the log on its own, so that one
   * failing projection never holds the others back. Until then `caughtUp()`
   * (and /readyz) say no.
   */
  async start(): Promise<void> {
    this.stopping = false;
    for (const runner of this.runners) await runner.prepare();
    this.catchingUp = this.catchUpTogether().finally(() => {
      if (!this.stopping) for (const runner of this.runners) runner.start();
    });
  }

  /** Resolves when the shared catch-up is over (each projection then follows the log alone). */
  async started(): Promise<void> {
    await this.catchingUp;
  }

  private async catchUpTogether(batchSize = 2000): Promise<void> {
    // Under leases, only the holder of each projection may apply: no shared catch-up.
    const active = new Set(this.runners.filter((r) => !r.usesLease));
    let after = Math.min(...this.runners.map((r) => r.appliedPosition));
    try {
      const head = await this.events.headPosition();
      while (!this.stopping && after < head && active.size > 0) {
        const batch = await this.events.readAll({ after, maxCount: batchSize });
        const last = batch.at(-1);
        if (!last) break;
        await Promise.all(
          [...active].map(async (runner) => {
            try {
              await runner.applyBatch(batch);
            } catch (error) {
              // It resumes from its own checkpoint when it follows the log alone.
              runner.recordFailure(error);
              active.delete(runner);
            }
          }),
        );
        after = last.position;
      }
    } catch (error) {
      this.logger.error({ err: error }, 'shared catch-up stopped; each projection catches up alone');
    }
  }

  async stop(): Promise<void> {
    this.stopping = true;
    await this.catchingUp;
    await Promise.all(this.runners.map((r) => r.stop()));
  }

  /** Read-your-writes: resolves true once every projection has applied `position`, false on timeout. */
  async waitFor(position: number, timeoutMs: number): Promise<boolean> {
    if (position <= 0) return true;
    const results = await Promise.all(this.runners.map((r) => r.waitFor(position, timeoutMs)));
    return results.every(Boolean);
  }

  async lag(): Promise<ProjectionLag[]> {
    const head = await this.events.headPosition();
    return this.runners.map((r) => {
      const status = r.status();
      return { ...status, lagEvents: Math.max(0, head - status.position) };
    });
  }

  /** Caught up: every projection at the head of the log and none failing. */
  async caughtUp(): Promise<boolean> {
    const lags = await this.lag();
    return lags.every((l) => l.lagEvents === 0 && l.error === null);
  }
}
