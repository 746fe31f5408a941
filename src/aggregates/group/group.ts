import { applyChanges, diff, type Changes, type Command, type Decider, type DomainEvent } from '../decider.js';
import {
  validateNamedEntity,
  validateNamedEntityPatch,
  type NamedEntity,
  type NamedEntityPatch,
  type NamedEntitySettings,
} from '../named-entity.js';
import { assertNever, conflict, notFound } from '../../shared/errors.js';
import { validateId } from '../../shared/ids.js';

/** A group of users in one tenant; its members inherit its bindings, unless it is disabled. */
export type GroupCommand =
  | Command<'CreateGroup', { id: string; name?: unknown; description?: unknown }>
  | Command<'UpdateGroup', { id: string; patch: NamedEntityPatch }>
  | Command<'DisableGroup', { id: string }>
  | Command<'EnableGroup', { id: string }>
  | Command<'DeleteGroup', { id: string }>
  | Command<'AddGroupMember', { id: string; userId: string }>
  | Command<'RemoveGroupMember', { id: string; userId: string }>;

/** Member events carry the group as `id` (the audit log's resource id) and the user as `userId`. */
export type GroupEvent =
  | DomainEvent<'GroupCreated', NamedEntity>
  | DomainEvent<'GroupUpdated', { id: string; changes: Changes<NamedEntitySettings> }>
  | DomainEvent<'GroupDisabled', { id: string }>
  | DomainEvent<'GroupEnabled', { id: string }>
  | DomainEvent<'GroupDeleted', { id: string }>
  | DomainEvent<'GroupMemberAdded', { id: string; userId: string }>
  | DomainEvent<'GroupMemberRemoved', { id: string; userId: string }>;

export type GroupState = { status: 'absent' } | ({ status: 'active' | 'deleted'; members: string[]; disabled: boolean } & NamedEntity);

export const GROUP_EVENT_TYPES = [
  'GroupCreated',
  'GroupUpdated',
  'GroupDisabled',
  'GroupEnabled',
  'GroupDeleted',
  'GroupMemberAdded',
  'GroupMemberRemoved',
] as const;

export const groupDecider: Decider<GroupCommand, GroupEvent, GroupState> = {
  name: 'group',
  stateVersion: 2,
  initialState: () => ({ status: 'absent' }),

  evolve(state, event) {
    if (event.type === 'GroupCreated') return { status: 'active', ...event.data, members: [], disabled: false };
    if (state.status === 'absent') return state;
    switch (event.type) {
      case 'GroupUpdated':
        return { ...state, ...applyChanges<NamedEntitySettings>(state, event.data.changes) };
      case 'GroupDisabled':
        return { ...state, disabled: true };
      case 'GroupEnabled':
        return { ...state, disabled: false };
      case 'GroupDeleted':
        return { ...state, status: 'deleted' };
      case 'GroupMemberAdded':
        return { ...state, members: [...state.members, event.data.userId].sort() };
      case 'GroupMemberRemoved':
        return { ...state, members: state.members.filter((m) => m !== event.data.userId) };
      default:
        return assertNever(event);
    }
  },

  decide(command, state) {
    switch (command.type) {
      case 'CreateGroup': {
        const group = validateNamedEntity(command.data);
        // A deleted id is never reused: a binding naming it, created while it was being deleted, must not come back to life.
        if (state.status === 'deleted') throw conflict(`group ${group.id} was deleted; its id cannot be used again`);
        if (state.status !== 'absent') throw conflict(`group ${group.id} already exists`);
        return [{ type: 'GroupCreated', data: group }];
      }
      case 'UpdateGroup': {
        const patch = validateNamedEntityPatch(command.data.patch);
        if (state.status !== 'active') throw notFound(`group ${command.data.id}`);
        const changes = diff<NamedEntitySettings>(state, patch, (a, b) => a === b);
        return Object.keys(changes).length === 0 ? [] : [{ type: 'GroupUpdated', data: { id: state.id, changes } }];
      }
      case 'DisableGroup': {
        if (state.status !== 'active') throw notFound(`group ${command.data.id}`);
        // Disabling twice is a no-op: the caller's intent already holds.
        return state.disabled ? [] : [{ type: 'GroupDisabled', data: { id: state.id } }];
      }
      case 'EnableGroup': {
        if (state.status !== 'active') throw notFound(`group ${command.data.id}`);
        return state.disabled ? [{ type: 'GroupEnabled', data: { id: state.id } }] : [];
      }
      case 'DeleteGroup': {
        if (state.status !== 'active') throw notFound(`group ${command.data.id}`);
        // Each membership ends as its own event (its own audit entry), then the group.
        return [
          ...state.members.map((userId): GroupEvent => ({ type: 'GroupMemberRemoved', data: { id: state.id, userId } })),
          { type: 'GroupDeleted', data: { id: state.id } },
        ];
      }
      case 'AddGroupMember': {
        const userId = validateId('user', 'userId', command.data.userId);
        if (state.status !== 'active') throw notFound(`group ${command.data.id}`);
        // Adding a member twice is a no-op: the caller's intent already holds.
        if (state.members.includes(userId)) return [];
        return [{ type: 'GroupMemberAdded', data: { id: state.id, userId } }];
      }
      case 'RemoveGroupMember': {
        const userId = validateId('user', 'userId', command.data.userId);
        if (state.status !== 'active') throw notFound(`group ${command.data.id}`);
        if (!state.members.includes(userId)) throw notFound(`member ${userId} of group ${state.id}`);
        return [{ type: 'GroupMemberRemoved', data: { id: state.id, userId } }];
      }
      default:
        return assertNever(command);
    }
  },
};
