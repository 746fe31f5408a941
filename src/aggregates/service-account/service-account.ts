import type { Command, Decider, DomainEvent } from '../decider.js';
import { validateNamedEntity, type NamedEntity } from '../named-entity.js';
import { assertNever, conflict, notFound } from '../../shared/errors.js';
import { validateId } from '../../shared/ids.js';

/** A non-human principal of one tenant; it authenticates with API tokens and is nobody in other tenants. */
export type ServiceAccountCommand =
  Command<'CreateServiceAccount', { id: string; name?: unknown; description?: unknown }> | Command<'DeleteServiceAccount', { id: string }>;

export type ServiceAccountEvent = DomainEvent<'ServiceAccountCreated', NamedEntity> | DomainEvent<'ServiceAccountDeleted', { id: string }>;

export type ServiceAccountState = { status: 'absent' } | ({ status: 'active' | 'deleted' } & NamedEntity);

export const SERVICE_ACCOUNT_EVENT_TYPES = ['ServiceAccountCreated', 'ServiceAccountDeleted'] as const;

export const serviceAccountDecider: Decider<ServiceAccountCommand, ServiceAccountEvent, ServiceAccountState> = {
  name: 'serviceAccount',
  stateVersion: 1,
  initialState: () => ({ status: 'absent' }),

  evolve(state, event) {
    switch (event.type) {
      case 'ServiceAccountCreated':
        return { status: 'active', ...event.data };
      case 'ServiceAccountDeleted':
        return state.status === 'absent' ? state : { ...state, status: 'deleted' };
      default:
        return assertNever(event);
    }
  },

  decide(command, state) {
    switch (command.type) {
      case 'CreateServiceAccount': {
        const account = validateNamedEntity(command.data);
        // A deleted id is never reused: its old tokens and bindings must not come back to life.
        if (state.status === 'deleted') throw conflict(`service account ${account.id} was deleted; its id cannot be used again`);
        if (state.status !== 'absent') throw conflict(`service account ${account.id} already exists`);
        return [{ type: 'ServiceAccountCreated', data: account }];
      }
      case 'DeleteServiceAccount': {
        const id = validateId('name', 'id', command.data.id);
        if (state.status !== 'active') throw notFound(`service account ${id}`);
        return [{ type: 'ServiceAccountDeleted', data: { id } }];
      }
      default:
        return assertNever(command);
    }
  },
};
