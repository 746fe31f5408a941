import type { UserEvent } from '../../aggregates/user/user.js';
import { INSTANCE_SCOPE, type RecordedEvent } from '../../eventstore/port.js';
import { documentProjection, type ReadModelDocument } from '../runtime/projection.js';

export interface UserDocument extends ReadModelDocument {
  id: string;
  email: string;
  name: string | null;
  instanceAdmin: boolean;
  createdAt: string;
}

export const USERS = 'users';

export const usersProjection = documentProjection<UserDocument>({
  name: 'users',
  version: 1,
  collection: USERS,
  indexes: [{ keys: { email: 1 }, name: 'email' }],
  eventTypes: ['UserCreated', 'UserDeleted'],
  documentId: (event) => (event as RecordedEvent & UserEvent).data.id,
  evolve(_doc, raw) {
    const event = raw as RecordedEvent & UserEvent;
    if (event.type === 'UserDeleted') return null;
    return {
      _id: event.data.id,
      tenantId: INSTANCE_SCOPE,
      _pos: event.position,
      ...event.data,
      createdAt: event.metadata.occurredAt,
    };
  },
});
