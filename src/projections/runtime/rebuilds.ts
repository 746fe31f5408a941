/**
 * Rebuilds of projections: a blue/green rebuild into a new generation (in
 * place or staged in memory), a tenant's documents rebuilt in place, and
 * the replay of the log both use, with progress.
 */
import type { EventStore, RecordedEvent } from '../../eventstore/port.js';
import type { DocumentStore } from '../../readmodels/port.js';
import { parseTarget, physicalName, targetFor, type Aliases } from './aliases.js';
import { LEASES, ProjectionLease, type LeaseDocument } from './lease.js';
import type { Projection } from './projection.js';
import { CHECKPOINTS, type CheckpointDocument, type ProjectionRunner, type RunnerOptions } from './runner.js';
import { checkpointIdOf } from './checkpoints.js';
import type { Slot } from './slot.js';
import { StagedGeneration } from './staging.js';

/** What a rebuild uses of the coordinator (coordinator.ts): its stores, its slots and its switching. */
export interface RebuildHost {
  readonly events: EventStore;
  readonly store: DocumentStore;
  readonly aliases: Aliases;
  readonly slots: readonly Slot[];
  readonly runnerOptions: RunnerOptions;
  stopping(): boolean;
  switchGraceMs(): number;
  runnerFor(projection: Projection, target: string, options?: RunnerOptions, store?: DocumentStore): ProjectionRunner;
  switchSlot(slot: Slot, next: ProjectionRunner): Promise<void>;
  dropTarget(projection: Projection, target: string): Promise<void>;
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
 * Blue/green rebuild: a new generation is built from the start of the log
 * while the serving one keeps answering (and keeps applying new events);
 * at the head the alias switches atomically. Stopped (signal) or killed, it
 * resumes from its own checkpoint the next time.
 */
export async function rebuild(host: RebuildHost, name: string, options: RebuildOptions = {}): Promise<RebuildResult> {
  const slot = host.slots.find((s) => s.projection.name === name);
  if (!slot) throw new Error(`unknown projection ${name}`);
  const alias = await host.aliases.ensure(name, targetFor(slot.projection.version));
  let target = alias.building;
  if (target === null || parseTarget(target).version !== slot.projection.version) {
    const generations = (await host.store.listCollections())
      .map((c) => /_v(\d+)_g(\d+)$/.exec(c))
      .filter((m): m is RegExpExecArray => m !== null && Number(m[1]) === slot.projection.version)
      .map((m) => Number(m[2]));
    const generation = Math.max(parseTarget(alias.target).generation, ...generations) + 1;
    target = targetFor(slot.projection.version, generation);
    if (!(await host.aliases.startBuilding(name, alias, target))) throw new Error(`alias ${name} changed meanwhile; try again`);
  }
  let runner = host.runnerFor(slot.projection, target, { lease: undefined });
  let outcome: Omit<RebuildResult, 'serving'>;
  if (options.staged) {
    // The new generation's indexes are built after its last flush: bulk
    // inserts into unindexed collections, then one index build, beat
    // maintaining every index on every insert (FerretDB: 1.6x for the
    // audit log's seven). Uniqueness holds meanwhile: the in-memory copy
    // has the indexes.
    const physical = Object.keys(slot.projection.collections).map((logical) => physicalName(logical, target));
    const staged = new StagedGeneration(host.store, physical, runner.checkpointId);
    await staged.load();
    const inMemory = host.runnerFor(slot.projection, target, { lease: undefined }, staged.memory);
    await inMemory.prepare();
    const every = options.flushEvery ?? 200_000;
    let unflushed = 0;
    outcome = await replay(host.events, inMemory, name, options, undefined, async (applied) => {
      unflushed += applied;
      if (unflushed < every) return;
      unflushed = 0;
      await staged.flush();
    });
    await staged.flush(); // completed or stopped: what was applied is kept
    // The real runner builds the indexes and reads the checkpoint the flush wrote.
    runner = host.runnerFor(slot.projection, target, { lease: undefined });
    if (outcome.completed) await runner.prepare();
  } else {
    await runner.prepare();
    outcome = await replay(host.events, runner, name, options);
  }
  if (!outcome.completed) return { ...outcome, serving: slot.serving };
  if (slot.live && slot.serving === alias.target) {
    // This process serves the projection: switch here, and keep applying to the new generation.
    await host.switchSlot(slot, runner);
    runner.start();
  } else if (await host.aliases.switchTo(name, alias.target, target)) {
    // Gateways serving it switch at their next alias refresh; drop the old generation after they had time to.
    setTimeout(() => void host.dropTarget(slot.projection, alias.target).catch(() => undefined), host.switchGraceMs()).unref();
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
export async function rebuildTenant(
  host: RebuildHost,
  name: string,
  tenantId: string,
  options: RebuildOptions = {},
): Promise<RebuildResult> {
  const slot = host.slots.find((s) => s.projection.name === name);
  if (!slot) throw new Error(`unknown projection ${name}`);
  const checkpoints = host.store.collection<CheckpointDocument>(CHECKPOINTS);
  const checkpointId = checkpointIdOf(name, slot.serving, tenantId);
  const live = slot.live;
  await live?.stop();
  // Replicas sharing the read models stand by too: the tenant's documents are written by one hand.
  const shared = host.runnerOptions.lease;
  const lease = shared
    ? new ProjectionLease(
        host.store.collection<LeaseDocument>(LEASES),
        checkpointIdOf(name, slot.serving),
        `operator:${shared.owner}`,
        shared.ttlMs,
      )
    : null;
  await lease?.pauseOthersAndHold(shared ? shared.ttlMs * 3 : 0);
  try {
    const runner = host.runnerFor(slot.projection, slot.serving, { checkpointId, streamPrefix: `${tenantId}/`, lease: undefined });
    if (!(await checkpoints.findOne({ _id: checkpointId }))) {
      for (const logical of Object.keys(slot.projection.collections)) await runner.collection(logical).deleteMany({ tenantId });
    }
    await runner.prepare();
    const outcome = await replay(host.events, runner, name, options, `${tenantId}/`);
    if (outcome.completed) await checkpoints.deleteOne({ _id: checkpointId });
    return { ...outcome, serving: slot.serving };
  } finally {
    await lease?.release();
    if (live && !host.stopping()) {
      const resumed = host.runnerFor(slot.projection, slot.serving);
      await resumed.prepare();
      slot.live = resumed;
      resumed.start();
    }
  }
}

/** Reads the log from the runner's checkpoint to the head, applying batch by batch, with progress. */
async function replay(
  events: EventStore,
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
    if (options.signal?.aborted) return { projection: name, completed: false, events: read, seconds: (performance.now() - started) / 1000 };
    const head = await events.headPosition();
    const batch: RecordedEvent[] = await events.readAll({
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
