import type { TenantSettings } from '../../aggregates/tenant/tenant.js';
import { documentProjection, type ReadModelDocument } from '../runtime/projection.js';

export interface TenantDocument extends ReadModelDocument, TenantSettings {
  id: string;
  deleted: boolean;
  revision: number;
  createdAt: string;
  updatedAt: string;
}

export const TENANTS = 'tenants';

export const tenantsProjection = documentProjection({
  name: 'tenants',
  version: 1,
  collection: TENANTS,
  indexes: [{ keys: { domains: 1 }, name: 'domains' }],
  eventTypes: ['TenantCreated', 'TenantUpdated', 'TenantDeleted', 'TenantRestored'],
  documentId: (event) => event.data.id,
  evolve(doc: TenantDocument | null, event): TenantDocument | null {
    const stamp = { revision: event.streamRevision + 1, updatedAt: event.metadata.occurredAt };
    switch (event.type) {
      case 'TenantCreated':
        return {
          _id: event.data.id,
          tenantId: event.data.id,
          _pos: event.position,
          id: event.data.id,
          name: event.data.name,
          domains: event.data.domains,
          requireExistingNamespace: event.data.requireExistingNamespace,
          deleted: false,
          createdAt: event.metadata.occurredAt,
          ...stamp,
        };
      case 'TenantUpdated': {
        if (!doc) return null;
        const next = { ...doc, ...stamp };
        const { name, domains, requireExistingNamespace } = event.data.changes;
        if (name) next.name = name.after;
        if (domains) next.domains = domains.after;
        if (requireExistingNamespace) next.requireExistingNamespace = requireExistingNamespace.after;
        return next;
      }
      case 'TenantDeleted':
        return doc && { ...doc, ...stamp, deleted: true };
      case 'TenantRestored':
        return doc && { ...doc, ...stamp, deleted: false };
    }
  },
});
