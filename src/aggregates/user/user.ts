import type { Command, Decider, DomainEvent } from '../decider.js';
import { BUILT_IN_USER_IDS } from '../../auth/principal.js';
import { assertNever, badInput, conflict, notFound } from '../../shared/errors.js';
import { validateId } from '../../shared/ids.js';

/** Users are instance-level: one identity, rights per tenant through bindings. */
export type UserCommand =
  | Command<'CreateUser', { id: string; email: string; name?: string | null; instanceAdmin?: boolean }>
  | Command<'DeleteUser', { id: string }>;

export type UserEvent =
  | DomainEvent<'UserCreated', { id: string; email: string; name: string | null; instanceAdmin: boolean }>
  | DomainEvent<'UserDeleted', { id: string }>;

export type UserState =
  { status: 'absent' } | { status: 'active' | 'deleted'; id: string; email: string; name: string | null; instanceAdmin: boolean };

const EMAIL = /^[^\s@]{1,64}@[^\s@]{1,255}$/;

export const userDecider: Decider<UserCommand, UserEvent, UserState> = {
  name: 'user',
  stateVersion: 1,
  initialState: () => ({ status: 'absent' }),
  evolve(state, event) {
    switch (event.type) {
      case 'UserCreated':
        return { status: 'active', ...event.data };
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
        if (typeof command.data.email !== 'string' || !EMAIL.test(command.data.email)) {
          throw badInput('email', 'email must be an e-mail address');
        }
        const name = command.data.name ?? null;
        if (name !== null && (typeof name !== 'string' || name.length > 200)) {
          throw badInput('name', 'name must be at most 200 characters');
        }
        // A deleted id is never reused: the old user's tokens, bindings and group memberships must not come back to life.
        if (state.status === 'deleted') throw conflict(`user ${id} was deleted; its id cannot be used again`);
        if (state.status !== 'absent') throw conflict(`user ${id} already exists`);
        return [
          {
            type: 'UserCreated',
            data: { id, email: command.data.email.toLowerCase(), name, instanceAdmin: command.data.instanceAdmin ?? false },
          },
        ];
      }
      case 'DeleteUser': {
        const id = validateId('user', 'id', command.data.id);
        if (BUILT_IN_USER_IDS.has(id)) throw badInput('id', `${id} is the built-in instance admin and cannot be deleted`);
        if (state.status !== 'active') throw notFound(`user ${id}`);
        return [{ type: 'UserDeleted', data: { id } }];
      }
      default:
        return assertNever(command);
    }
  },
};
