/**
 * Poison events: telling a failure of the event's own from an outage, and
 * isolating the event a batch failed on, to stop there or park it in
 * `projection_parked` (TENANTRY_PROJECTION_ON_POISON).
 */
import { EventStoreUnavailableError, type RecordedEvent } from '../../eventstore/port.js';
import { DocumentStoreUnavailableError, type Document } from '../../readmodels/port.js';
import type { Logger } from '../../shared/logger.js';
import type { Projection, ProjectionTarget } from './projection.js';

export const PARKED = 'projection_parked';

export interface ParkedEventDocument extends Document {
  projection: string;
  eventId: string;
  eventType: string;
  streamName: string;
  position: number;
  error: string;
  parkedAt: string;
}

/** A projection failed on one event, and the failure is the event's, not a store's. */
export class PoisonEventError extends Error {
  override readonly name = 'PoisonEventError';
  constructor(
    readonly projection: string,
    readonly event: RecordedEvent,
    cause: unknown,
  ) {
    super(
      `projection ${projection} cannot apply event ${event.id} (${event.type} at position ${event.position} in ${event.streamName}): ${cause instanceof Error ? cause.message : String(cause)}`,
      { cause },
    );
  }
}

export const isOutage = (error: unknown): boolean =>
  error instanceof DocumentStoreUnavailableError || error instanceof EventStoreUnavailableError;

/** What isolating a batch uses of the runner that applies it (runner.ts). */
export interface PoisonRunner extends ProjectionTarget {
  readonly projection: Projection;
  readonly checkpointId: string;
  readonly appliedPosition: number;
}

/**
 * A batch failed for a reason of its own: apply it event by event, moving
 * the checkpoint past each, to find the event that fails. Events before it
 * are kept; at it, stop (report) or park it, per configuration.
 */
export async function isolate(
  runner: PoisonRunner,
  onPoison: 'stop' | 'park' | undefined,
  logger: Logger,
  saveCheckpoint: (position: number) => Promise<void>,
  batch: readonly RecordedEvent[],
  batchError: unknown,
): Promise<void> {
  if (batch.length === 1 && (onPoison ?? 'stop') === 'stop') {
    const [only] = batch;
    if (only) throw new PoisonEventError(runner.projection.name, only, batchError);
  }
  for (const event of batch) {
    if (event.position <= runner.appliedPosition) continue;
    try {
      await runner.projection.apply([event], runner);
    } catch (error) {
      if (isOutage(error)) throw error;
      if ((onPoison ?? 'stop') === 'stop') throw new PoisonEventError(runner.projection.name, event, error);
      const poison = new PoisonEventError(runner.projection.name, event, error);
      await runner.store.collection<ParkedEventDocument>(PARKED).updateOne(
        { _id: `${runner.checkpointId}/${event.id}` },
        {
          $set: {
            projection: runner.projection.name,
            eventId: event.id,
            eventType: event.type,
            streamName: event.streamName,
            position: event.position,
            error: poison.message,
            parkedAt: new Date().toISOString(),
          },
        },
        { upsert: true },
      );
      logger.error({ err: poison, projection: runner.projection.name, position: event.position }, 'poison event parked');
    }
    await saveCheckpoint(event.position);
  }
}
