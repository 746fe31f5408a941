import { applyChanges } from '../../aggregates/decider.js';
import { GROUP_EVENT_TYPES } from '../../aggregates/group/group.js';
import type { NamedEntity, NamedEntitySettings } from '../../aggregates/named-entity.js';
import { createdFields, tenantEntityProjection, type CreatedFields } from '../tenant-entity.js';
import type { ReadModelDocument } from '../runtime/projection.js';

export interface GroupDocument extends ReadModelDocument, NamedEntity, CreatedFields {
  /** User ids, sorted. The authorizer finds a user's groups by this field. */
  members: string[];
  /** A disabled group's bindings grant its members nothing (the authorizer skips it). */
  disabled: boolean;
  revision: number;
  updatedAt: string;
}

export const GROUPS = 'groups';

export const groupsProjection = tenantEntityProjection({
  name: 'groups',
  version: 2,
  collection: GROUPS,
  indexes: [{ keys: { tenantId: 1, members: 1 }, name: 'members' }],
  eventTypes: GROUP_EVENT_TYPES,
  evolve(doc: GroupDocument | null, event): GroupDocument | null {
    const stamp = { revision: event.streamRevision + 1, updatedAt: event.metadata.occurredAt };
    if (event.type === 'GroupCreated')
      return { ...createdFields(event, event.data.id), ...event.data, members: [], disabled: false, ...stamp };
    if (!doc) return null;
    switch (event.type) {
      case 'GroupUpdated':
        return { ...doc, ...applyChanges<NamedEntitySettings>(doc, event.data.changes), ...stamp };
      case 'GroupDisabled':
        return { ...doc, disabled: true, ...stamp };
      case 'GroupEnabled':
        return { ...doc, disabled: false, ...stamp };
      case 'GroupDeleted':
        return null;
      case 'GroupMemberAdded':
        return { ...doc, ...stamp, members: [...new Set([...doc.members, event.data.userId])].sort() };
      case 'GroupMemberRemoved':
        return { ...doc, ...stamp, members: doc.members.filter((m) => m !== event.data.userId) };
    }
  },
});
