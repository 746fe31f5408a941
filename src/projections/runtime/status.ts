/**
 * Status of the projections: each one's position, lag, generations and
 * stall as this process runs them, and the status stored (aliases,
 * checkpoints, parked events) that operators read without running any.
 */
import type { EventStore } from '../../eventstore/port.js';
import type { DocumentStore } from '../../readmodels/port.js';
import { targetFor, type Aliases } from './aliases.js';
import { CHECKPOINTS, PARKED, type CheckpointDocument, type RunnerStatus } from './runner.js';
import { checkpointIdOf } from './checkpoints.js';
import type { Slot } from './slot.js';
import type { ProjectionWatchdog, Stall } from './watchdog.js';

export interface ProjectionLag extends RunnerStatus {
  lagEvents: number;
  /** The generation queries read. */
  serving: string;
  /** A generation being built, if any. */
  building: string | null;
  /** Behind the head and not moving for the watchdog's threshold, with why; null otherwise. */
  stalled: Stall | null;
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

export async function lag(events: EventStore, slots: readonly Slot[], watchdog: ProjectionWatchdog): Promise<ProjectionLag[]> {
  const head = await events.headPosition();
  return slots.map((slot) => {
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
      stalled: slot.live ? watchdog.stall(slot.projection.name) : null,
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
export async function storedStatus(
  events: EventStore,
  store: DocumentStore,
  aliases: Aliases,
  slots: readonly Slot[],
): Promise<StoredStatus[]> {
  const head = await events.headPosition();
  const checkpoints = store.collection<CheckpointDocument>(CHECKPOINTS);
  const out: StoredStatus[] = [];
  for (const slot of slots) {
    const alias = await aliases.get(slot.projection.name);
    const serving = alias?.target ?? targetFor(slot.projection.version);
    const checkpoint = await checkpoints.findOne({ _id: checkpointIdOf(slot.projection.name, serving) });
    const position = checkpoint?.position ?? 0;
    let lagSeconds = 0;
    if (position < head) {
      const [next] = await events.readAll({ after: position, maxCount: 1 });
      if (next) lagSeconds = Math.max(0, (Date.now() - Date.parse(next.metadata.occurredAt)) / 1000);
    }
    const building = alias?.building ?? null;
    const buildingCheckpoint = building ? await checkpoints.findOne({ _id: checkpointIdOf(slot.projection.name, building) }) : null;
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
      parked: await store.collection(PARKED).countDocuments({ projection: slot.projection.name }),
    });
  }
  return out;
}
