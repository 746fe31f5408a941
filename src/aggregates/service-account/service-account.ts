import type { Command, Decider, DomainEvent } from '../decider.js';
import { validateNamedEntity, type NamedEntity } from '../named-entity.js';
import { assertNever, conflict } from '../../shared/errors.js';

/** A non-human principal of one tenant; it authenticates with API tokens and is nobody in other tenants. */
export type ServiceAccountCommand = Command<'CreateServiceAccount', { id: string; name?: unknown; description?: unknown }>;

export type ServiceAccountEvent = DomainEvent<'ServiceAccountCreated', NamedEntity>;

export type ServiceAccountState = { status: 'absent' } | ({ status: 'active' } & NamedEntity);

export const SERVICE_ACCOUNT_EVENT_TYPES = ['ServiceAccountCreated'] as const;

export const serviceAccountDecider: Decider<ServiceAccountCommand, ServiceAccountEvent, ServiceAccountState> = {
  name: 'serviceAccount',
  stateVersion: 1,
  initialState: () => ({ status: 'absent' }),

  evolve(_state, event) {
    switch (event.type) {
      case 'ServiceAccountCreated':
        return { status: 'active', ...event.data };
      default:
        return assertNever(event.type);
    }
  },

  decide(command, state) {
    switch (command.type) {
      case 'CreateServiceAccount': {
        const account = validateNamedEntity(command.data);
        if (state.status !== 'absent') throw conflict(`service account ${account.id} already exists`);
        return [{ type: 'ServiceAccountCreated', data: account }];
      }
      default:
        return assertNever(command.type);
    }
  },
};
