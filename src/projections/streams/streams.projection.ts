import { parseStreamName, type RecordedEvent } from '../../eventstore/port.js';
import { EVENT_CATALOG } from '../../events/catalog.js';
import type { WriteOperation } from '../../readmodels/port.js';
import type { Projection, ReadModelDocument } from '../runtime/projection.js';

/**
 * One document per stream of the log, written by its first event: which
 * aggregates of a category a tenant had by a given time (time travel over a
 * whole category, such as "every binding at T", folds only those streams,
 * each from its nearest snapshot, instead of every event of the category).
 * O(1) per event: only first events write, insert-only, idempotent by `_id`.
 */
export interface StreamDocument extends ReadModelDocument {
  category: string;
  /** `occurredAt` of the stream's first event. */
  createdAt: string;
}

export const STREAMS = 'streams';

export const streamsProjection: Projection = {
  name: 'streams',
  version: 1,
  // Every cataloged type (the command handler writes no other): a stream is known from its first event, whatever it is.
  eventTypes: new Set(Object.keys(EVENT_CATALOG)),
  collections: { [STREAMS]: [{ keys: { tenantId: 1, category: 1, createdAt: 1 }, name: 'tenant_category_created' }] },
  async apply(events: readonly RecordedEvent[], target) {
    const inserts: WriteOperation<StreamDocument>[] = [];
    for (const event of events) {
      if (event.streamRevision !== 0) continue;
      const { tenantId, category } = parseStreamName(event.streamName);
      inserts.push({
        insertOne: { document: { _id: event.streamName, tenantId, _pos: event.position, category, createdAt: event.metadata.occurredAt } },
      });
    }
    // A duplicate is a stream recorded by an earlier delivery of the same event.
    if (inserts.length > 0) await target.collection<StreamDocument>(STREAMS).bulkWrite(inserts, { ordered: false, handOver: true });
  },
};
