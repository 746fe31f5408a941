import type { Command, Decider, DomainEvent } from '../decider.js';
import { assertNever, badInput, conflict } from '../../shared/errors.js';
import { validateId } from '../../shared/ids.js';

/** Users are instance-level: one identity, rights per tenant through bindings. */
export type UserCommand = Command<'CreateUser', { id: string; email: string; name?: string | null; instanceAdmin?: boolean }>;

export type UserEvent = DomainEvent<'UserCreated', { id: string; email: string; name: string | null; instanceAdmin: boolean }>;

export type UserState = { status: 'absent' } | { status: 'active'; id: string; email: string; name: string | null; instanceAdmin: boolean };

const EMAIL = /^[^\s@]{1,64}@[^\s@]{1,255}$/;

export const userDecider: Decider<UserCommand, UserEvent, UserState> = {
  name: 'user',
  stateVersion: 1,
  initialState: () => ({ status: 'absent' }),
  evolve(_state, event) {
    switch (event.type) {
      case 'UserCreated':
        return { status: 'active', ...event.data };
      default:
        return assertNever(event.type);
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
        if (state.status !== 'absent') throw conflict(`user ${id} already exists`);
        return [
          {
            type: 'UserCreated',
            data: { id, email: command.data.email.toLowerCase(), name, instanceAdmin: command.data.instanceAdmin ?? false },
          },
        ];
      }
      default:
        return assertNever(command.type);
    }
  },
};
