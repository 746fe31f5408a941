import type { Command, Decider, DomainEvent } from '../decider.js';
import { validateNamedEntity, type NamedEntity } from '../named-entity.js';
import { assertNever, conflict, notFound } from '../../shared/errors.js';
import { validateId } from '../../shared/ids.js';

/** A group of users in one tenant; its members inherit its bindings. */
export type GroupCommand =
  | Command<'CreateGroup', { id: string; name?: unknown; description?: unknown }>
  | Command<'AddGroupMember', { id: string; userId: string }>
  | Command<'RemoveGroupMember', { id: string; userId: string }>;

/** Member events carry the group as `id` (the audit log's resource id) and the user as `userId`. */
export type GroupEvent =
  | DomainEvent<'GroupCreated', NamedEntity>
  | DomainEvent<'GroupMemberAdded', { id: string; userId: string }>
  | DomainEvent<'GroupMemberRemoved', { id: string; userId: string }>;

export type GroupState = { status: 'absent' } | ({ status: 'active'; members: string[] } & NamedEntity);

export const GROUP_EVENT_TYPES = ['GroupCreated', 'GroupMemberAdded', 'GroupMemberRemoved'] as const;

export const groupDecider: Decider<GroupCommand, GroupEvent, GroupState> = {
  name: 'group',
  stateVersion: 1,
  initialState: () => ({ status: 'absent' }),

  evolve(state, event) {
    switch (event.type) {
      case 'GroupCreated':
        return { status: 'active', ...event.data, members: [] };
      case 'GroupMemberAdded':
        return state.status === 'absent' ? state : { ...state, members: [...state.members, event.data.userId].sort() };
      case 'GroupMemberRemoved':
        return state.status === 'absent' ? state : { ...state, members: state.members.filter((m) => m !== event.data.userId) };
      default:
        return assertNever(event);
    }
  },

  decide(command, state) {
    switch (command.type) {
      case 'CreateGroup': {
        const group = validateNamedEntity(command.data);
        if (state.status !== 'absent') throw conflict(`group ${group.id} already exists`);
        return [{ type: 'GroupCreated', data: group }];
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
