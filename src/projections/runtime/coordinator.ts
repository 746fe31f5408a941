import type { EventStore, RecordedEvent } from '../../eventstore/port.js';
import type { UpcasterRegistry } from '../../events/upcasting.js';
import type { DocumentStore } from '../../readmodels/port.js';
import type { Logger } from '../../shared/logger.js';
import { Slicer } from '../../shared/slices.js';
import { ALIASES, Aliases, parseTarget, physicalName, targetFor, type AliasDocument } from './aliases.js';
import { CHECKPOINTS, PARKED, ProjectionRunner, type CheckpointDocument, type RunnerOptions, type RunnerStatus } from './runner.js';
import { LEASES, ProjectionLease, type LeaseDocument } from './lease.js';
import type { Projection } from './projection.js';
import { StagedGeneration } from './staging.js';
import { ProjectionWatchdog, type Stall } from './watchdog.js';

export interface ProjectionLag extends RunnerStatus {
  lagEvents: number;
  /** The generation queries read. */
  serving: string;
  /** A generation being built, if any. */
  building: string | null;
  /** Behind the head and not moving for the watchdog's threshold, with why; null otherwise. */
  stalled: Stall | null;
}

export interface WatchdogOptions {
  /** How long a projection may stay behind the head without moving before it is reported stalled. Default 30 s. */
  stallMs?: number;
  /** How often the watchdog looks. Default a quarter of stallMs, at most 5 s. */
  intervalMs?: number;
}

export interface RebuildProgress {
  projection: string;
  /** Events of the log read so far by this run. */
  read: number;
  position: number;
  head: number;
  eventsPerSecond: number;
  /** Seconds to the head at the current rate. */
  etaSeconds: number | null;
}

export interface StoredStatus {
  projection: string;
  codeVersion: number;
  serving: string;
  position: number;
  head: number;
  lagEvents: number;
  lagSeconds: number;
  building: string | null;
  buildingPosition: number | null;
  updatedAt: string | null;
  /** Events set aside by TENANTRY_PROJECTION_ON_POISON=park. */
  parked: number;
}

export interface RebuildOptions {
  /** Stops at the next batch boundary; the rebuild resumes from its checkpoint next time. */
  signal?: AbortSignal;
  onProgress?: (progress: RebuildProgress) => void;
  batchSize?: number;
  /**
   * Blue/green only: apply to an in-memory copy of the new generation and
   * write it to the store every `flushEvery` events (default 200,000) and at
   * the end (see staging.ts). Much faster into MongoDB; holds the
   * generation's documents in memory meanwhile.
   */
  staged?: boolean;
  flushEvery?: number;
}

export interface RebuildResult {
  projection: string;
  completed: boolean;
  events: number;
  seconds: number;
  /** The generation now serving (after a completed blue/green rebuild, the new one). */
  serving: string;
}

/**
 * One projection's collections: `live` applies events to the generation that
 * serves queries; `building` fills a new generation (a new version after a
 * deployment, or a blue/green rebuild) until it catches up and the alias
 * switches to it.
 */
interface Slot {
  projection: Projection;
  serving: string;
  /** null while a newer version is being built and no code for the serving one exists any more. */
  live: ProjectionRunner | null;
  building: ProjectionRunner | null;
}

const ALIAS_REFRESH_MS = 2_000;

/**
 * Runs every projection of the application, answers "has everything up to P
 * been applied?", and moves read models between generations.
 */
export class Projections {
  private readonly slots: Slot[];
  private readonly aliases: Aliases;
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
    await this.store.collection<CheckpointDocument>(CHECKPOINTS).deleteOne({ _id: `${projection.name}_${target}` });
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
   * while the serving one keeps answering (and keeps applying new events);
   * at the head the alias switches atomically. Stopped (signal) or killed, it
   * resumes from its own checkpoint the next time.
   */
  async rebuild(name: string, options: RebuildOptions = {}): Promise<RebuildResult> {
    const slot = this.slots.find((s) => s.projection.name === name);
    if (!slot) throw new Error(`unknown projection ${name}`);
    const alias = await this.aliases.ensure(name, targetFor(slot.projection.version));
    let target = alias.building;
    if (target === null || parseTarget(target).version !== slot.projection.version) {
      const generations = (await this.store.listCollections())
        .map((c) => /_v(\d+)_g(\d+)$/.exec(c))
        .filter((m): m is RegExpExecArray => m !== null && Number(m[1]) === slot.projection.version)
        .map((m) => Number(m[2]));
      const generation = Math.max(parseTarget(alias.target).generation, ...generations) + 1;
      target = targetFor(slot.projection.version, generation);
      if (!(await this.aliases.startBuilding(name, alias, target))) throw new Error(`alias ${name} changed meanwhile; try again`);
    }
    let runner = this.runnerFor(slot.projection, target, { lease: undefined });
    let outcome: Omit<RebuildResult, 'serving'>;
    if (options.staged) {
      // The new generation's indexes are built after its last flush: bulk
      // inserts into unindexed collections, then one index build, beat
      // maintaining every index on every insert (FerretDB: 1.6x for the
      // audit log's seven). Uniqueness holds meanwhile: the in-memory copy
      // has the indexes.
      const physical = Object.keys(slot.projection.collections).map((logical) => physicalName(logical, target));
      const staged = new StagedGeneration(this.store, physical, runner.checkpointId);
      await staged.load();
      const inMemory = this.runnerFor(slot.projection, target, { lease: undefined }, staged.memory);
      await inMemory.prepare();
      const every = options.flushEvery ?? 200_000;
      let unflushed = 0;
      outcome = await this.replay(inMemory, name, options, undefined, async (applied) => {
        unflushed += applied;
        if (unflushed < every) return;
        unflushed = 0;
        await staged.flush();
      });
      await staged.flush(); // completed or stopped: what was applied is kept
      // The real runner builds the indexes and reads the checkpoint the flush wrote.
      runner = this.runnerFor(slot.projection, target, { lease: undefined });
      if (outcome.completed) await runner.prepare();
    } else {
      await runner.prepare();
      outcome = await this.replay(runner, name, options);
    }
    if (!outcome.completed) return { ...outcome, serving: slot.serving };
    if (slot.live && slot.serving === alias.target) {
      // This process serves the projection: switch here, and keep applying to the new generation.
      await this.switchSlot(slot, runner);
      runner.start();
    } else if (await this.aliases.switchTo(name, alias.target, target)) {
      // Gateways serving it switch at their next alias refresh; drop the old generation after they had time to.
      setTimeout(() => void this.dropTarget(slot.projection, alias.target).catch(() => undefined), this.switchGraceMs).unref();
    }
    return { ...outcome, serving: target };
  }

  /**
   * Rebuilds one tenant's documents in place in the serving generation:
   * its documents are deleted, then its events replayed; other tenants are
   * untouched. The projection's live runner is paused meanwhile (here, or in
   * the replica holding its lease), so the tenant's documents are written by
   * one hand. Resumable: an interrupted run continues from its checkpoint.
   */
  async rebuildTenant(name: string, tenantId: string, options: RebuildOptions = {}): Promise<RebuildResult> {
    const slot = this.slots.find((s) => s.projection.name === name);
    if (!slot) throw new Error(`unknown projection ${name}`);
    const checkpoints = this.store.collection<CheckpointDocument>(CHECKPOINTS);
    const checkpointId = `${name}_${slot.serving}@${tenantId}`;
    const live = slot.live;
    await live?.stop();
    // Replicas sharing the read models stand by too: the tenant's documents are written by one hand.
    const shared = this.runnerOptions.lease;
    const lease = shared
      ? new ProjectionLease(
          this.store.collection<LeaseDocument>(LEASES),
          `${name}_${slot.serving}`,
          `operator:${shared.owner}`,
          shared.ttlMs,
        )
      : null;
    await lease?.pauseOthersAndHold(shared ? shared.ttlMs * 3 : 0);
    try {
      const runner = this.runnerFor(slot.projection, slot.serving, { checkpointId, streamPrefix: `${tenantId}/`, lease: undefined });
      if (!(await checkpoints.findOne({ _id: checkpointId }))) {
        for (const logical of Object.keys(slot.projection.collections)) await runner.collection(logical).deleteMany({ tenantId });
      }
      await runner.prepare();
      const outcome = await this.replay(runner, name, options, `${tenantId}/`);
      if (outcome.completed) await checkpoints.deleteOne({ _id: checkpointId });
      return { ...outcome, serving: slot.serving };
    } finally {
      await lease?.release();
      if (live && !this.stopping) {
        const resumed = this.runnerFor(slot.projection, slot.serving);
        await resumed.prepare();
        slot.live = resumed;
        resumed.start();
      }
    }
  }

  /** Reads the log from the runner's checkpoint to the head, applying batch by batch, with progress. */
  private async replay(
    runner: ProjectionRunner,
    name: string,
    options: RebuildOptions,
    streamPrefix?: string,
    afterBatch?: (applied: number) => Promise<void>,
  ): Promise<Omit<RebuildResult, 'serving'>> {
    const started = performance.now();
    let read = 0;
    let after = runner.appliedPosition;
    for (;;) {
      if (options.signal?.aborted)
        return { projection: name, completed: false, events: read, seconds: (performance.now() - started) / 1000 };
      const head = await this.events.headPosition();
      const batch: RecordedEvent[] = await this.events.readAll({
        after,
        maxCount: options.batchSize ?? 2000,
        ...(streamPrefix ? { streamPrefix } : {}),
      });
      const last = batch.at(-1);
      if (!last) break;
      await runner.applyBatch(batch);
      await afterBatch?.(batch.length);
      read += batch.length;
      after = last.position;
      const seconds = (performance.now() - started) / 1000;
      const eventsPerSecond = read / Math.max(seconds, 0.001);
      options.onProgress?.({
        projection: name,
        read,
        position: after,
        head,
        eventsPerSecond,
        etaSeconds: head > after ? (head - after) / Math.max(eventsPerSecond, 1) : 0,
      });
    }
    return { projection: name, completed: true, events: read, seconds: (performance.now() - started) / 1000 };
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

  async lag(): Promise<ProjectionLag[]> {
    const head = await this.events.headPosition();
    return this.slots.map((slot) => {
      const runner = slot.live ?? slot.building;
      const status = runner?.status() ?? {
        projection: slot.projection.name,
        version: slot.projection.version,
        position: 0,
        running: false,
        role: 'standby' as const,
        error: null,
        failedAt: null,
        updatedAt: null,
        activity: 'no runner',
        activitySince: 0,
      };
      return {
        ...status,
        stalled: slot.live ? this.watchdog.stall(slot.projection.name) : null,
        lagEvents: slot.live ? Math.max(0, head - status.position) : Math.max(1, head - status.position),
        serving: slot.serving,
        building: slot.building?.target ?? null,
      };
    });
  }

  /**
   * Status from what is stored (aliases, checkpoints), for operators: it
   * needs no running projection, so the CLI can ask while gateways run.
   */
  async storedStatus(): Promise<StoredStatus[]> {
    const head = await this.events.headPosition();
    const checkpoints = this.store.collection<CheckpointDocument>(CHECKPOINTS);
    const out: StoredStatus[] = [];
    for (const slot of this.slots) {
      const alias = await this.aliases.get(slot.projection.name);
      const serving = alias?.target ?? targetFor(slot.projection.version);
      const checkpoint = await checkpoints.findOne({ _id: `${slot.projection.name}_${serving}` });
      const position = checkpoint?.position ?? 0;
      let lagSeconds = 0;
      if (position < head) {
        const [next] = await this.events.readAll({ after: position, maxCount: 1 });
        if (next) lagSeconds = Math.max(0, (Date.now() - Date.parse(next.metadata.occurredAt)) / 1000);
      }
      const building = alias?.building ?? null;
      const buildingCheckpoint = building ? await checkpoints.findOne({ _id: `${slot.projection.name}_${building}` }) : null;
      out.push({
        projection: slot.projection.name,
        codeVersion: slot.projection.version,
        serving,
        position,
        head,
        lagEvents: Math.max(0, head - position),
        lagSeconds,
        building,
        buildingPosition: buildingCheckpoint?.position ?? null,
        updatedAt: checkpoint?.updatedAt ?? null,
        parked: await this.store.collection(PARKED).countDocuments({ projection: slot.projection.name }),
      });
    }
    return out;
  }

  /** Caught up: every projection at the head of the log and none failing. */
  async caughtUp(): Promise<boolean> {
    const lags = await this.lag();
    return lags.every((l) => l.lagEvents === 0 && l.error === null);
  }
}
