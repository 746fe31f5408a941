import { diff, applyChanges, type Changes, type Command, type Decider, type DomainEvent } from '../decider.js';
import { BUILT_IN_USER_IDS } from '../../auth/principal.js';
import { assertNever, badInput, conflict, notFound } from '../../shared/errors.js';
import { validateId } from '../../shared/ids.js';

/** What an update may change about a user (the id and instanceAdmin never change). */
export interface UserProfile {
  email: string;
  name: string | null;
}

/** Users are instance-level: one identity, rights per tenant through bindings. */
export type UserCommand =
  | Command<'CreateUser', { id: string; email: string; name?: string | null; instanceAdmin?: boolean }>
  | Command<'UpdateUser', { id: string; patch: { email?: unknown; name?: unknown } }>
  | Command<'DisableUser', { id: string }>
  | Command<'EnableUser', { id: string }>
  | Command<'DeleteUser', { id: string }>;

export type UserEvent =
  | DomainEvent<'UserCreated', { id: string; email: string; name: string | null; instanceAdmin: boolean }>
  | DomainEvent<'UserUpdated', { id: string; changes: Changes<UserProfile> }>
  | DomainEvent<'UserDisabled', { id: string }>
  | DomainEvent<'UserEnabled', { id: string }>
  | DomainEvent<'UserDeleted', { id: string }>;

export type UserState =
  | { status: 'absent' }
  | { status: 'active' | 'deleted'; id: string; email: string; name: string | null; instanceAdmin: boolean; disabled: boolean };

export const USER_EVENT_TYPES = ['UserCreated', 'UserUpdated', 'UserDisabled', 'UserEnabled', 'UserDeleted'] as const;

const EMAIL = /^[^\s@]{1,64}@[^\s@]{1,255}$/;

function validateEmail(value: unknown): string {
  if (typeof value !== 'string' || !EMAIL.test(value)) throw badInput('email', 'email must be an e-mail address');
  return value.toLowerCase();
}

function validateName(value: unknown): string | null {
  if (value === null || value === undefined) return null;
  if (typeof value !== 'string' || value.length > 200) throw badInput('name', 'name must be at most 200 characters');
  return value;
}

/** The built-in admin is reached through the gateway's own credentials: it is never disabled or deleted. */
function refuseBuiltIn(id: string, what: string): void {
  if (BUILT_IN_USER_IDS.has(id)) throw badInput('id', `${id} is the built-in instance admin and cannot be ${what}`);
}

/** DeleteUser's refusals, also run before the deletion's cascade writes anything: the id, the built-in admin, no such user. */
export function requireDeletable(value: string, state: UserState): string {
  const id = validateId('user', 'id', value);
  refuseBuiltIn(id, 'deleted');
  if (state.status !== 'active') throw notFound(`user ${id}`);
  return id;
}

export const userDecider: Decider<UserCommand, UserEvent, UserState> = {
  name: 'user',
  stateVersion: 2,
  initialState: () => ({ status: 'absent' }),
  evolve(state, event) {
    switch (event.type) {
      case 'UserCreated':
        return { status: 'active', ...event.data, disabled: false };
      case 'UserUpdated':
        return state.status === 'absent' ? state : { ...state, ...applyChanges<UserProfile>(state, event.data.changes) };
      case 'UserDisabled':
        return state.status === 'absent' ? state : { ...state, disabled: true };
      case 'UserEnabled':
        return state.status === 'absent' ? state : { ...state, disabled: false };
      case 'UserDeleted':
        return state.status === 'absent' ? state : { ...state, status: 'deleted' };
      default:
        return assertNever(event);
    }
  },
  decide(command, state) {
    switch (command.type) {
      case 'CreateUser': {
        const id = validateId('user', 'id', command.data.id);
        const email = validateEmail(command.data.email);
        const name = validateName(command.data.name);
        // A deleted id is never reused: the old user's tokens, bindings and group memberships must not come back to life.
        if (state.status === 'deleted') throw conflict(`user ${id} was deleted; its id cannot be used again`);
        if (state.status !== 'absent') throw conflict(`user ${id} already exists`);
        return [{ type: 'UserCreated', data: { id, email, name, instanceAdmin: command.data.instanceAdmin ?? false } }];
      }
      case 'UpdateUser': {
        const id = validateId('user', 'id', command.data.id);
        const { email, name } = command.data.patch;
        const patch: Partial<UserProfile> = {};
        if (email !== undefined && email !== null) patch.email = validateEmail(email);
        if (name !== undefined) patch.name = validateName(name);
        if (state.status !== 'active') throw notFound(`user ${id}`);
        const changes = diff<UserProfile>(state, patch, (a, b) => a === b);
        return Object.keys(changes).length === 0 ? [] : [{ type: 'UserUpdated', data: { id, changes } }];
      }
      case 'DisableUser': {
        const id = validateId('user', 'id', command.data.id);
        refuseBuiltIn(id, 'disabled');
        if (state.status !== 'active') throw notFound(`user ${id}`);
        // Disabling twice is a no-op: the caller's intent already holds.
        return state.disabled ? [] : [{ type: 'UserDisabled', data: { id } }];
      }
      case 'EnableUser': {
        const id = validateId('user', 'id', command.data.id);
        if (state.status !== 'active') throw notFound(`user ${id}`);
        return state.disabled ? [{ type: 'UserEnabled', data: { id } }] : [];
      }
      case 'DeleteUser': {
        const id = requireDeletable(command.data.id, state);
        return [{ type: 'UserDeleted', data: { id } }];
      }
      default:
        return assertNever(command);
    }
  },
};
