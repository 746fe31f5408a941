import type { FlowTask } from '../../aggregates/flow/flow-source.js';
import type { WriteOperation } from '../../readmodels/port.js';
import { flowDocId, revisionEntry, type FlowRevisionEntry } from '../flows/flows.projection.js';
import { typedProjection, type EventOf, type ReadModelDocument } from '../runtime/projection.js';

/**
 * Every saved revision of every flow, source included: append-only, one
 * document per revision. Why a read model rather than replaying the flow's
 * stream on each read: `flow(revision: N)` and `revisions { source }` then
 * cost one indexed lookup (batched by a DataLoader across a page of flows),
 * independent of how long the flow's history is. Time travel (`asOf`) still
 * replays the stream, because it must also see deletes.
 */
export interface FlowRevisionDocument extends ReadModelDocument, FlowRevisionEntry {
  namespace: string;
  id: string;
  source: string;
  description: string | null;
  disabled: boolean;
  tasks: FlowTask[];
}

export const FLOW_REVISIONS = 'flow_revisions';

export const flowRevisionDocId = (tenantId: string, namespace: string, id: string, revision: number): string =>
  `${flowDocId(tenantId, namespace, id)}/${revision}`;

const FLOW_SAVE_TYPES = ['FlowCreated', 'FlowUpdated'] as const;

/** Revisions are immutable, so the revision's own id makes replays harmless: a second insert is a duplicate key, reported and ignored. */
export const flowRevisionsProjection = typedProjection({
  name: 'flowRevisions',
  version: 1,
  eventTypes: FLOW_SAVE_TYPES,
  collections: {
    [FLOW_REVISIONS]: [{ keys: { tenantId: 1, namespace: 1, id: 1, revision: 1 }, name: 'tenant_flow_revision', unique: true }],
  },
  async apply(events, target) {
    const operations = events.map((event): WriteOperation<FlowRevisionDocument> => ({ insertOne: { document: revisionDocument(event) } }));
    if (operations.length > 0) await target.collection<FlowRevisionDocument>(FLOW_REVISIONS).bulkWrite(operations, { ordered: false });
  },
});

function revisionDocument(event: EventOf<typeof FLOW_SAVE_TYPES>): FlowRevisionDocument {
  const { tenantId } = event.metadata;
  const { namespace, id, revision, source, description, disabled, tasks } = event.data;
  return {
    _id: flowRevisionDocId(tenantId, namespace, id, revision),
    tenantId,
    _pos: event.position,
    namespace,
    id,
    source,
    description,
    disabled,
    tasks,
    ...revisionEntry(event),
  };
}
