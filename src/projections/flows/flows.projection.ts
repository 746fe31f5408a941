import type { FlowTask } from '../../aggregates/flow/flow-source.js';
import { docId, documentProjection, type EventOf, type ReadModelDocument } from '../runtime/projection.js';

/** Who saved a revision, and when: the list a history view shows without loading any source. */
export interface FlowRevisionEntry {
  revision: number;
  updatedAt: string;
  updatedBy: string;
  restoredFrom: number | null;
}

/** A flow as every reader sees it: the read model, time travel and the API. */
export interface FlowFields {
  namespace: string;
  id: string;
  revision: number;
  source: string;
  description: string | null;
  disabled: boolean;
  deleted: boolean;
  tasks: FlowTask[];
  /** Time and actor of the last event, a delete included. */
  updatedAt: string;
  updatedBy: string;
}

/**
 * One document per flow with its current state only. Its revisions (who
 * saved what, when, and each source) are documents of their own in the
 * `flow_revisions` read model (see flow-revisions.projection.ts): a document
 * that grew with every save would make each save cost more than the last.
 *
 * The source itself is not in it (v3): the current revision's document in
 * `flow_revisions` holds it, and a second copy made every save write a large
 * source twice on the event loop (and every page of flows read it back).
 * `source` is only present in documents of a v2 generation still serving
 * while v3 is built.
 */
export type FlowDocument = ReadModelDocument & Omit<FlowFields, 'source'> & { source?: string };

export const FLOWS = 'flows';
export const FLOW_EVENT_TYPES = ['FlowCreated', 'FlowUpdated', 'FlowDeleted'] as const;

export type RecordedFlowEvent = EventOf<typeof FLOW_EVENT_TYPES>;

export const flowDocId = (tenantId: string, namespace: string, id: string): string => docId(tenantId, namespace, id);

/** The history entry of a save (FlowCreated or FlowUpdated). */
export function revisionEntry(event: RecordedFlowEvent): FlowRevisionEntry {
  return {
    revision: event.data.revision,
    updatedAt: event.metadata.occurredAt,
    updatedBy: event.metadata.actor.id,
    restoredFrom: event.type === 'FlowDeleted' ? null : (event.data.restoredFrom ?? null),
  };
}

export function evolveFlowDocument(doc: FlowDocument | null, event: RecordedFlowEvent): FlowDocument | null {
  const stamp = { updatedAt: event.metadata.occurredAt, updatedBy: event.metadata.actor.id };
  switch (event.type) {
    case 'FlowCreated': {
      const { namespace, id, revision, description, disabled, tasks } = event.data;
      return {
        _id: flowDocId(event.metadata.tenantId, namespace, id),
        tenantId: event.metadata.tenantId,
        _pos: event.position,
        namespace,
        id,
        revision,
        description,
        disabled,
        tasks,
        deleted: false,
        ...stamp,
      };
    }
    case 'FlowUpdated': {
      if (!doc) return null;
      const { revision, description, disabled, tasks } = event.data;
      // A source kept by a v2 document would now be stale: dropped.
      const { source: _stale, ...current } = doc;
      return { ...current, ...stamp, revision, description, disabled, tasks };
    }
    case 'FlowDeleted':
      return doc ? { ...doc, ...stamp, deleted: true } : null;
  }
}

export const flowsProjection = documentProjection({
  name: 'flows',
  // v2: no embedded list of revisions (it grew with every save). v3: no source (flow_revisions has it).
  version: 3,
  collection: FLOWS,
  indexes: [
    { keys: { tenantId: 1, namespace: 1, id: 1 }, name: 'tenant_namespace_id', unique: true },
    { keys: { tenantId: 1, namespace: 1 }, name: 'tenant_namespace' },
    { keys: { tenantId: 1, deleted: 1, namespace: 1, id: 1 }, name: 'tenant_deleted_namespace_id' },
  ],
  eventTypes: FLOW_EVENT_TYPES,
  documentId: (event) => flowDocId(event.metadata.tenantId, event.data.namespace, event.data.id),
  evolve: evolveFlowDocument,
});
