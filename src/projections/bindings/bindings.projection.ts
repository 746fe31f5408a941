import type { BindingData } from '../../aggregates/binding/binding.js';
import { docId, documentProjection, type ReadModelDocument } from '../runtime/projection.js';

export interface BindingDocument extends ReadModelDocument, BindingData {
  createdAt: string;
  createdBy: string;
}

export const BINDINGS = 'bindings';

export const bindingsProjection = documentProjection({
  name: 'bindings',
  version: 1,
  collection: BINDINGS,
  indexes: [
    { keys: { tenantId: 1, principalType: 1, principalId: 1 }, name: 'principal' },
    { keys: { tenantId: 1, roleId: 1 }, name: 'role' },
  ],
  eventTypes: ['BindingCreated', 'BindingDeleted'],
  documentId: (event) => docId(event.metadata.tenantId, event.data.id),
  evolve(_doc: BindingDocument | null, event): BindingDocument | null {
    switch (event.type) {
      case 'BindingCreated':
        return {
          _id: docId(event.metadata.tenantId, event.data.id),
          tenantId: event.metadata.tenantId,
          _pos: event.position,
          ...event.data,
          createdAt: event.metadata.occurredAt,
          createdBy: event.metadata.actor.id,
        };
      case 'BindingDeleted':
        return null;
    }
  },
});
