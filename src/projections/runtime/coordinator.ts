import type { EventStore } from '../../eventstore/port.js';
import type { UpcasterRegistry } from '../../events/upcasting.js';
import type { DocumentStore } from '../../readmodels/port.js';
import type { Logger } from '../../shared/logger.js';
import { Slicer } from '../../shared/slices.js';
import { ALIASES, Aliases, parseTarget, physicalName, targetFor, type AliasDocument } from './aliases.js';
import { CHECKPOINTS, ProjectionRunner, type CheckpointDocument, type RunnerOptions } from './runner.js';
import { checkpointIdOf } from './checkpoints.js';
import type { Projection } from './projection.js';
import { rebuild, rebuildTenant, type RebuildHost, type RebuildOptions, type RebuildResult } from './rebuilds.js';
import type { Slot } from './slot.js';
import { lag, storedStatus, type ProjectionLag, type StoredStatus } from './status.js';
import { ProjectionWatchdog } from './watchdog.js';

export type { RebuildOptions, RebuildProgress, RebuildResult } from './rebuilds.js';
export type { ProjectionLag, StoredStatus } from './status.js';

export interface WatchdogOptions {
  /** How long a projection may stay behind the head without moving before it is reported stalled. Default 30 s. */
  stallMs?: number;
  /** How often the watchdog looks. Default a quarter of stallMs, at most 5 s. */
  intervalMs?: number;
}

const ALIAS_REFRESH_MS = 2_000;

/**
 * Runs every projection of the application, answers "has everything up to P
 * been applied?", and moves read models between generations. Rebuilds are
 * in rebuilds.ts, status reports in status.ts; this class delegates to them.
 */
export class Projections {
  private readonly slots: Slot[];
  private readonly aliases: Aliases;
  /** What rebuilds.ts uses of this coordinator. */
  private readonly rebuildHost: RebuildHost;
  private catchingUp: Promise<void> | null = null;
  private stopping = false;
  private refreshTimer: NodeJS.Timeout | null = null;
  private watchTimer: NodeJS.Timeout | null = null;
  /** Reports projections that are behind and not moving (docs/stores.md, the projection watchdog). */
  readonly watchdog: ProjectionWatchdog;
  /** How long a replaced generation is kept after a switch, for replicas that still read it until their alias refresh. */
  switchGraceMs = 10_000;

  constructor(
    private readonly events: EventStore,
    private readonly store: DocumentStore,
    projections: readonly Projection[],
    private readonly upcasters: UpcasterRegistry,
    private readonly logger: Logger,
    private readonly runnerOptions: RunnerOptions = {},
    private readonly watchdogOptions: WatchdogOptions = {},
  ) {
    this.watchdog = new ProjectionWatchdog(logger, watchdogOptions.stallMs ?? 30_000);
    this.aliases = new Aliases(store.collection<AliasDocument>(ALIASES));
    this.slots = projections.map((projection) => ({ projection, serving: targetFor(projection.version), live: null, building: null }));
    this.rebuildHost = {
      events: this.events,
      store: this.store,
      aliases: this.aliases,
      slots: this.slots,
      runnerOptions: this.runnerOptions,
      stopping: () => this.stopping,
      switchGraceMs: () => this.switchGraceMs,
      runnerFor: (projection, target, options, store) => this.runnerFor(projection, target, options, store),
      switchSlot: (slot, next) => this.switchSlot(slot, next),
      dropTarget: (projection, target) => this.dropTarget(projection, target),
    };
  }

  /** The runners applying to the generations that serve queries. */
  get runners(): ProjectionRunner[] {
    return this.slots.flatMap((s) => (s.live ? [s.live] : []));
  }

  /** The generation queries read for a projection (`v1`, `v2_g3`, ...). */
  servingTarget(projectionName: string): string {
    const slot = this.slots.find((s) => s.projection.name === projectionName);
    if (!slot) throw new Error(`unknown projection ${projectionName}`);
    return slot.serving;
  }

  runner(name: string): ProjectionRunner {
    const runner = this.slots.find((s) => s.projection.name === name)?.live;
    if (!runner) throw new Error(`projection ${name} has no live runner`);
    return runner;
  }

  private runnerFor(
    projection: Projection,
    target: string,
    options: RunnerOptions = {},
    store: DocumentStore = this.store,
  ): ProjectionRunner {
    return new ProjectionRunner(
      this.events,
      store,
      projection,
      this.upcasters,
      this.logger.child({ projection: projection.name, target }),
      {
        ...this.runnerOptions,
        target,
        ...options,
      },
    );
  }

  /**
   * Resolves each projection's alias, then catches up in the background: the
   * log is read ONCE and each batch goes to every projection, instead of every
   * projection reading and parsing the whole log itself. At the head, each
   * projection follows the log on its own, so one failing projection never
   * holds the others back. A projection whose serving generation is of
   * another version (a deployment changed it) keeps serving that generation
   * while the new version builds beside it, then switches.
   */
  async start(): Promise<void> {
    this.stopping = false;
    for (const slot of this.slots) {
      const wanted = targetFor(slot.projection.version);
      const alias = await this.aliases.ensure(slot.projection.name, wanted);
      slot.serving = alias.target;
      if (parseTarget(alias.target).version === slot.projection.version) {
        slot.live = this.runnerFor(slot.projection, alias.target);
        await slot.live.prepare();
      } else {
        const building = alias.building ?? wanted;
        if (alias.building === null) await this.aliases.startBuilding(slot.projection.name, alias, building);
        slot.building = this.runnerFor(slot.projection, building, { lease: undefined });
        await slot.building.prepare();
        this.logger.warn(
          { projection: slot.projection.name, serving: alias.target, building },
          'read model version changed: the old generation serves (without new events) until the new one catches up',
        );
      }
    }
    await this.collectGarbage();
    this.catchingUp = this.catchUpTogether().finally(() => {
      if (this.stopping) return;
      // Whatever the store keeps lazily after the bulk of the catch-up: in slices now, not on the first query.
      void this.store.warm?.().catch((error: unknown) => this.logger.warn({ err: error }, 'warming the read models failed'));
      for (const slot of this.slots) {
        slot.live?.start();
        if (slot.building) void this.finishBuilding(slot);
      }
      this.refreshTimer = setInterval(() => void this.refreshAliases().catch(() => undefined), ALIAS_REFRESH_MS);
      this.refreshTimer.unref();
      const every = this.watchdogOptions.intervalMs ?? Math.min(5_000, Math.max(50, this.watchdog.stallMs / 4));
      this.watchTimer = setInterval(() => void this.watch(), every);
      this.watchTimer.unref();
    });
  }

  /** Resolves when the shared catch-up is over. */
  async started(): Promise<void> {
    await this.catchingUp;
  }

  private async catchUpTogether(batchSize = 2000): Promise<void> {
    // Under leases only the holder of each projection may apply: no shared catch-up.
    const active = new Set([...this.runners, ...this.slots.flatMap((s) => (s.building ? [s.building] : []))].filter((r) => !r.usesLease));
    if (active.size === 0) return;
    let after = Math.min(...[...active].map((r) => r.appliedPosition));
    const slicer = new Slicer();
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
        // A turn of the event loop between batches: /healthz, /readyz and requests are answered during a long catch-up.
        await slicer.tick();
      }
    } catch (error) {
      this.logger.error({ err: error }, 'shared catch-up stopped; each projection catches up alone');
    }
  }

  /** A new version built beside the serving one: follow the log to the head, then switch. */
  private async finishBuilding(slot: Slot): Promise<void> {
    const building = slot.building;
    if (!building) return;
    building.start();
    while (!this.stopping && slot.building === building) {
      const head = await this.events.headPosition();
      if (await building.waitFor(head, 1000)) {
        await this.switchSlot(slot, building);
        return;
      }
    }
  }

  /** Makes `next` serve: alias first (atomic), then the runners; the old generation is dropped after a grace period. */
  private async switchSlot(slot: Slot, next: ProjectionRunner): Promise<void> {
    const previous = slot.serving;
    const switched = await this.aliases.switchTo(slot.projection.name, previous, next.target);
    if (!switched) {
      const alias = await this.aliases.get(slot.projection.name);
      if (alias?.target !== next.target) {
        // Switched to something else: refreshAliases follows it; this generation is not wanted.
        this.logger.warn(
          { projection: slot.projection.name, alias: alias?.target ?? null },
          'alias changed by someone else; not switching',
        );
        if (slot.building === next) {
          slot.building = null;
          await next.stop();
        }
        return;
      }
      // Otherwise another replica built the same generation and switched first: serve it too (it drops the old one).
    }
    const old = slot.live;
    slot.serving = next.target;
    slot.live = next;
    slot.building = null;
    await old?.stop();
    this.logger.info(
      { projection: slot.projection.name, from: previous, to: next.target },
      switched ? 'read model switched' : 'read model switched by another process',
    );
    if (!switched) return;
    // Other replicas may read the old generation until they refresh their alias.
    const timer = setTimeout(() => void this.dropTarget(slot.projection, previous).catch(() => undefined), this.switchGraceMs);
    timer.unref();
  }

  private async dropTarget(projection: Projection, target: string): Promise<void> {
    for (const name of Object.keys(projection.collections)) await this.store.collection(physicalName(name, target)).drop();
    await this.store.collection<CheckpointDocument>(CHECKPOINTS).deleteOne({ _id: checkpointIdOf(projection.name, target) });
  }

  /** Drops generations that are neither serving nor being built (left by a switch the process did not outlive). */
  private async collectGarbage(): Promise<void> {
    const existing = new Set(await this.store.listCollections());
    const aliases = new Map((await this.aliases.all()).map((a) => [a._id, a] as const));
    for (const slot of this.slots) {
      const alias = aliases.get(slot.projection.name);
      const keep = new Set([alias?.target, alias?.building, slot.serving].filter((t): t is string => typeof t === 'string'));
      for (const logical of Object.keys(slot.projection.collections)) {
        for (const physical of existing) {
          const match = physical.startsWith(`${logical}_`) ? /^(v\d+(?:_g\d+)?)$/.exec(physical.slice(logical.length + 1)) : null;
          if (match?.[1] && !keep.has(match[1]) && Date.parse(alias?.switchedAt ?? '') < Date.now() - this.switchGraceMs) {
            await this.store.collection(physical).drop();
          }
        }
      }
    }
  }

  /** Another replica (or the CLI) switched an alias: serve and apply the new generation. */
  private async refreshAliases(): Promise<void> {
    for (const alias of await this.aliases.all()) {
      const slot = this.slots.find((s) => s.projection.name === alias._id);
      if (!slot || slot.serving === alias.target || parseTarget(alias.target).version !== slot.projection.version) continue;
      if (slot.building?.target === alias.target) continue;
      const next = this.runnerFor(slot.projection, alias.target);
      await next.prepare();
      const old = slot.live;
      slot.serving = alias.target;
      slot.live = next;
      await old?.stop();
      next.start();
      this.logger.info({ projection: slot.projection.name, target: alias.target }, 'read model switched by another process');
    }
  }

  /**
   * Blue/green rebuild: a new generation is built from the start of the log
   * while the serving one keeps answering; at the head the alias switches
   * (rebuilds.ts).
   */
  rebuild(name: string, options: RebuildOptions = {}): Promise<RebuildResult> {
    return rebuild(this.rebuildHost, name, options);
  }

  /** Rebuilds one tenant's documents in place in the serving generation (rebuilds.ts). */
  rebuildTenant(name: string, tenantId: string, options: RebuildOptions = {}): Promise<RebuildResult> {
    return rebuildTenant(this.rebuildHost, name, tenantId, options);
  }

  /** One look of the watchdog (also called by tests). */
  async watch(now = Date.now()): Promise<void> {
    let head: number;
    try {
      head = await this.events.headPosition();
    } catch {
      return; // the log is unreachable: readiness says so; nothing to compare against
    }
    this.watchdog.check(
      this.runners.map((r) => r.status()),
      head,
      now,
    );
  }

  async stop(): Promise<void> {
    this.stopping = true;
    if (this.refreshTimer) clearInterval(this.refreshTimer);
    if (this.watchTimer) clearInterval(this.watchTimer);
    await this.catchingUp;
    const runners = this.slots.flatMap((s) => [s.live, s.building]).filter((r): r is ProjectionRunner => r !== null);
    await Promise.all(runners.map((runner) => runner.stop()));
  }

  /**
   * Read-your-writes: resolves true once every serving projection has applied
   * `position`, false on timeout. A projection that is failing answers false
   * at once instead of holding the caller for the whole timeout. With
   * `eventTypes` (what the caller wrote), only the projections of those types
   * are waited for.
   */
  async waitFor(position: number, timeoutMs: number, eventTypes?: readonly string[]): Promise<boolean> {
    if (position <= 0) return true;
    // Read-your-writes needs the read models the written events change: a projection with none of their types
    // has nothing to show of them (and, following another process's checkpoints, may store its move late).
    const concerned =
      eventTypes === undefined ? this.runners : this.runners.filter((r) => eventTypes.some((t) => r.projection.eventTypes.has(t)));
    const results = await Promise.all(
      concerned.map((r) => (r.status().error !== null ? Promise.resolve(false) : r.waitFor(position, timeoutMs))),
    );
    return results.every(Boolean);
  }

  /** Each projection's position, lag, generations and stall (status.ts). */
  lag(): Promise<ProjectionLag[]> {
    return lag(this.events, this.slots, this.watchdog);
  }

  /** Status from what is stored, for operators (status.ts). */
  storedStatus(): Promise<StoredStatus[]> {
    return storedStatus(this.events, this.store, this.aliases, this.slots);
  }

  /** Caught up: every projection at the head of the log and none failing. */
  async caughtUp(): Promise<boolean> {
    const lags = await this.lag();
    return lags.every((l) => l.lagEvents === 0 && l.error === null);
  }
}
