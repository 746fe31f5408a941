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

/** A non-human principal of one tenant; it authenticates with API tokens and is nobody in other tenants. */
export type ServiceAccountCommand =
  | Command<'CreateServiceAccount', { id: string; name?: unknown; description?: unknown }>
  | Command<'UpdateServiceAccount', { id: string; patch: NamedEntityPatch }>
  | Command<'DisableServiceAccount', { id: string }>
  | Command<'EnableServiceAccount', { id: string }>
  | Command<'DeleteServiceAccount', { id: string }>;

export type ServiceAccountEvent =
  | DomainEvent<'ServiceAccountCreated', NamedEntity>
  | DomainEvent<'ServiceAccountUpdated', { id: string; changes: Changes<NamedEntitySettings> }>
  | DomainEvent<'ServiceAccountDisabled', { id: string }>
  | DomainEvent<'ServiceAccountEnabled', { id: string }>
  | DomainEvent<'ServiceAccountDeleted', { id: string }>;

export type ServiceAccountState = { status: 'absent' } | ({ status: 'active' | 'deleted'; disabled: boolean } & NamedEntity);

export const SERVICE_ACCOUNT_EVENT_TYPES = [
  'ServiceAccountCreated',
  'ServiceAccountUpdated',
  'ServiceAccountDisabled',
  'ServiceAccountEnabled',
  'ServiceAccountDeleted',
] as const;

export const serviceAccountDecider: Decider<ServiceAccountCommand, ServiceAccountEvent, ServiceAccountState> = {
  name: 'serviceAccount',
  stateVersion: 2,
  initialState: () => ({ status: 'absent' }),

  evolve(state, event) {
    if (event.type === 'ServiceAccountCreated') return { status: 'active', ...event.data, disabled: false };
    if (state.status === 'absent') return state;
    switch (event.type) {
      case 'ServiceAccountUpdated':
        return { ...state, ...applyChanges<NamedEntitySettings>(state, event.data.changes) };
      case 'ServiceAccountDisabled':
        return { ...state, disabled: true };
      case 'ServiceAccountEnabled':
        return { ...state, disabled: false };
      case 'ServiceAccountDeleted':
        return { ...state, status: 'deleted' };
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
      case 'UpdateServiceAccount': {
        const patch = validateNamedEntityPatch(command.data.patch);
        if (state.status !== 'active') throw notFound(`service account ${command.data.id}`);
        const changes = diff<NamedEntitySettings>(state, patch, (a, b) => a === b);
        return Object.keys(changes).length === 0 ? [] : [{ type: 'ServiceAccountUpdated', data: { id: state.id, changes } }];
      }
      case 'DisableServiceAccount': {
        if (state.status !== 'active') throw notFound(`service account ${command.data.id}`);
        // Disabling twice is a no-op: the caller's intent already holds.
        return state.disabled ? [] : [{ type: 'ServiceAccountDisabled', data: { id: state.id } }];
      }
      case 'EnableServiceAccount': {
        if (state.status !== 'active') throw notFound(`service account ${command.data.id}`);
        return state.disabled ? [{ type: 'ServiceAccountEnabled', data: { id: state.id } }] : [];
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
