import { GROUP_EVENT_TYPES, type GroupEvent } from '../../aggregates/group/group.js';
import type { NamedEntity } from '../../aggregates/named-entity.js';
import type { RecordedEvent } from '../../eventstore/port.js';
import { createdFields, tenantEntityProjection, type CreatedFields } from '../tenant-entity.js';
import type { ReadModelDocument } from '../runtime/projection.js';

export interface GroupDocument extends ReadModelDocument, NamedEntity, CreatedFields {
  /** User ids, sorted. The authorizer finds a user's groups by this field. */
  members: string[];
  revision: number;
  updatedAt: string;
}

export const GROUPS = 'groups';

type Recorded = RecordedEvent & GroupEvent;

export const groupsProjection = tenantEntityProjection<GroupDocument>({
  name: 'groups',
  collection: GROUPS,
  indexes: [{ keys: { tenantId: 1, members: 1 }, name: 'members' }],
  eventTypes: GROUP_EVENT_TYPES,
  evolve(doc, raw) {
    const event = raw as Recorded;
    const stamp = { revision: event.streamRevision + 1, updatedAt: event.metadata.occurredAt };
    switch (event.type) {
      case 'GroupCreated':
        return { ...createdFields(event, event.data.id), ...event.data, members: [], ...stamp };
      case 'GroupMemberAdded':
        if (!doc) return null;
        return { ...doc, ...stamp, members: [...new Set([...doc.members, event.data.userId])].sort() };
      case 'GroupMemberRemoved':
        if (!doc) return null;
        return { ...doc, ...stamp, members: doc.members.filter((m) => m !== event.data.userId) };
    }
  },
});
