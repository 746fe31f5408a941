import type { RecordedEvent } from '../eventstore/port.js';
import type { AnyDomainEvent } from '../events/domain-events.js';
import type { IndexSpec } from '../readmodels/port.js';
import { docId, documentProjection, type DocumentProjectionSpec, type Projection, type ReadModelDocument } from './runtime/projection.js';

/**
 * Roles, groups, service accounts and API tokens: one document per aggregate
 * of a tenant, whose events all carry the aggregate's `id` in their data.
 */
export interface CreatedFields {
  _id: string;
  tenantId: string;
  _pos: number;
  createdAt: string;
  createdBy: string;
}

/** What such a document starts with, taken from the event that created it. */
export const createdFields = (event: RecordedEvent, id: string): CreatedFields => ({
  _id: docId(event.metadata.tenantId, id),
  tenantId: event.metadata.tenantId,
  _pos: event.position,
  createdAt: event.metadata.occurredAt,
  createdBy: event.metadata.actor.id,
});

/** The event types whose data carries the id of the aggregate they are about. */
export type EntityEventType = Extract<AnyDomainEvent, { data: { id: string } }>['type'];

const entityId = (event: RecordedEvent<EntityEventType, { id: string }>): string => docId(event.metadata.tenantId, event.data.id);

const BY_TENANT_AND_ID: IndexSpec = { keys: { tenantId: 1, id: 1 }, name: 'tenant_id', unique: true };

export function tenantEntityProjection<D extends ReadModelDocument, const Types extends readonly EntityEventType[]>(
  spec: Omit<DocumentProjectionSpec<D, Types>, 'documentId' | 'version'> & { version?: number },
): Projection {
  return documentProjection<D, Types>({
    ...spec,
    version: spec.version ?? 1,
    indexes: [BY_TENANT_AND_ID, ...(spec.indexes ?? [])],
    documentId: entityId,
  });
}
