import { applyChanges } from '../../aggregates/decider.js';
import { USER_EVENT_TYPES, type UserProfile } from '../../aggregates/user/user.js';
import { INSTANCE_SCOPE } from '../../eventstore/port.js';
import { documentProjection, type ReadModelDocument } from '../runtime/projection.js';

export interface UserDocument extends ReadModelDocument {
  id: string;
  email: string;
  name: string | null;
  instanceAdmin: boolean;
  /** A disabled user's tokens and JWTs do not authenticate (see the verifiers). */
  disabled: boolean;
  /** Events in the user's stream (the API's revision, for expectedRevision). */
  revision: number;
  createdAt: string;
  updatedAt: string;
}

export const USERS = 'users';

export const usersProjection = documentProjection({
  name: 'users',
  version: 2,
  collection: USERS,
  indexes: [{ keys: { email: 1 }, name: 'email' }],
  eventTypes: USER_EVENT_TYPES,
  documentId: (event) => event.data.id,
  evolve(doc: UserDocument | null, event): UserDocument | null {
    const stamp = { revision: event.streamRevision + 1, updatedAt: event.metadata.occurredAt };
    switch (event.type) {
      case 'UserCreated':
        return {
          _id: event.data.id,
          tenantId: INSTANCE_SCOPE,
          _pos: event.position,
          ...event.data,
          disabled: false,
          createdAt: event.metadata.occurredAt,
          ...stamp,
        };
      case 'UserUpdated':
        return doc ? { ...doc, ...applyChanges<UserProfile>(doc, event.data.changes), ...stamp } : null;
      case 'UserDisabled':
        return doc ? { ...doc, disabled: true, ...stamp } : null;
      case 'UserEnabled':
        return doc ? { ...doc, disabled: false, ...stamp } : null;
      case 'UserDeleted':
        return null;
    }
  },
});
