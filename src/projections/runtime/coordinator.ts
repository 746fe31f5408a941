import type { EventStore } from '../../eventstore/port.js';
import type { UpcasterRegistry } from '../../events/upcasting.js';
import type { DocumentStore } from '../../readmodels/port.js';
import type { Logger } from '../../shared/logger.js';
import type { Projection } from './projection.js';
import { ProjectionRunner, type RunnerStatus } from './runner.js';

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
    logger: Logger,
  ) {
    this.runners = projections.map((p) => new ProjectionRunner(events, store, p, upcasters, logger.child({ projection: p.name })));
  }

  runner(name: string): ProjectionRunner {
    const runner = this.runners.find((r) => r.projection.name === name);
    if (!runner) throw new Error(`unknown projection ${name}`);
    return runner;
  }

  async start(): Promise<void> {
    for (const runner of this.runners) await runner.prepare();
    for (const runner of this.runners) runner.start();
  }

  async stop(): Promise<void> {
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
