import type { RoleSettings } from '../../aggregates/role/role.js';
import { ROLE_EVENT_TYPES } from '../../aggregates/role/role.js';
import { applyChanges } from '../../aggregates/decider.js';
import { createdFields, tenantEntityProjection, type CreatedFields } from '../tenant-entity.js';
import type { ReadModelDocument } from '../runtime/projection.js';

/** Custom roles only; the managed roles are built into the code (src/auth/permissions.ts). */
export interface RoleDocument extends ReadModelDocument, RoleSettings, CreatedFields {
  id: string;
  revision: number;
  updatedAt: string;
}

export const ROLES = 'roles';

export const rolesProjection = tenantEntityProjection({
  name: 'roles',
  collection: ROLES,
  eventTypes: ROLE_EVENT_TYPES,
  evolve(doc: RoleDocument | null, event): RoleDocument | null {
    const stamp = { revision: event.streamRevision + 1, updatedAt: event.metadata.occurredAt };
    switch (event.type) {
      case 'RoleCreated':
        return { ...createdFields(event, event.data.id), ...event.data, ...stamp };
      case 'RoleUpdated':
        return doc ? { ...doc, ...applyChanges<RoleSettings>(doc, event.data.changes), ...stamp } : null;
      case 'RoleDeleted':
        return null;
    }
  },
});
