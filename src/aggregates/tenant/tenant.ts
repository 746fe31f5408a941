import { applyChanges, diff, type Changes, type Command, type Decider, type DomainEvent } from '../decider.js';
import { assertNever, badInput, conflict, tenantNotFound } from '../../shared/errors.js';
import { validateDomain, validateId } from '../../shared/ids.js';
import { jsonEqual } from '../../shared/json.js';

export const DEFAULT_TENANT = 'main';

export interface TenantSettings {
  name: string;
  domains: string[];
  requireExistingNamespace: boolean;
}

export type TenantCommand =
  | Command<'CreateTenant', { id: string; name: string; domains?: string[]; requireExistingNamespace?: boolean }>
  | Command<'UpdateTenant', { id: string; name?: string; domains?: string[]; requireExistingNamespace?: boolean }>
  | Command<'DeleteTenant', { id: string }>
  | Command<'RestoreTenant', { id: string }>;

export type TenantEvent =
  | DomainEvent<'TenantCreated', { id: string } & TenantSettings>
  | DomainEvent<'TenantUpdated', { id: string; changes: Changes<TenantSettings> }>
  | DomainEvent<'TenantDeleted', { id: string }>
  | DomainEvent<'TenantRestored', { id: string }>;

export type TenantState = { status: 'absent' } | ({ status: 'active' | 'deleted'; id: string } & TenantSettings);

const MAX_NAME = 200;
const MAX_DOMAINS = 20;

function validateName(name: unknown): string {
  if (typeof name !== 'string' || name.trim().length === 0 || name.length > MAX_NAME) {
    throw badInput('name', `name must be a non-empty string of at most ${MAX_NAME} characters`);
  }
  return name.trim();
}

function validateDomains(domains: unknown): string[] {
  if (!Array.isArray(domains)) throw badInput('domains', 'domains must be a list of host names');
  if (domains.length > MAX_DOMAINS) throw badInput('domains', `at most ${MAX_DOMAINS} domains`);
  const hosts = domains.map((domain, i) => validateDomain(`domains[${i}]`, String(domain)));
  return [...new Set(hosts)].sort();
}

export const tenantDecider: Decider<TenantCommand, TenantEvent, TenantState> = {
  name: 'tenant',
  stateVersion: 1,
  initialState: () => ({ status: 'absent' }),

  evolve(state, event) {
    switch (event.type) {
      case 'TenantCreated': {
        const { id, name, domains, requireExistingNamespace } = event.data;
        return { status: 'active', id, name, domains, requireExistingNamespace };
      }
      case 'TenantUpdated':
        return state.status === 'absent' ? state : { ...state, ...applyChanges<TenantSettings>(state, event.data.changes) };
      case 'TenantDeleted':
        return state.status === 'absent' ? state : { ...state, status: 'deleted' };
      case 'TenantRestored':
        return state.status === 'absent' ? state : { ...state, status: 'active' };
      default:
        return assertNever(event);
    }
  },

  decide(command, state) {
    switch (command.type) {
      case 'CreateTenant': {
        const id = validateId('tenant', 'id', command.data.id);
        const name = validateName(command.data.name);
        const domains = validateDomains(command.data.domains ?? []);
        if (state.status !== 'absent') throw conflict(`tenant ${id} already exists`);
        return [
          {
            type: 'TenantCreated',
            data: { id, name, domains, requireExistingNamespace: command.data.requireExistingNamespace ?? false },
          },
        ];
      }
      case 'UpdateTenant': {
        if (state.status !== 'active') throw tenantNotFound(command.data.id);
        const patch: Partial<TenantSettings> = {};
        if (command.data.name !== undefined) patch.name = validateName(command.data.name);
        if (command.data.domains !== undefined) patch.domains = validateDomains(command.data.domains);
        if (command.data.requireExistingNamespace !== undefined) {
          patch.requireExistingNamespace = command.data.requireExistingNamespace;
        }
        const changes = diff<TenantSettings>(state, patch, jsonEqual);
        return Object.keys(changes).length === 0 ? [] : [{ type: 'TenantUpdated', data: { id: state.id, changes } }];
      }
      case 'DeleteTenant': {
        if (state.status !== 'active') throw tenantNotFound(command.data.id);
        if (state.id === DEFAULT_TENANT) throw badInput('id', `the default tenant ${DEFAULT_TENANT} cannot be deleted`);
        return [{ type: 'TenantDeleted', data: { id: state.id } }];
      }
      case 'RestoreTenant': {
        if (state.status === 'absent') throw tenantNotFound(command.data.id);
        if (state.status === 'active') throw conflict(`tenant ${state.id} is not deleted`);
        return [{ type: 'TenantRestored', data: { id: state.id } }];
      }
      default:
        return assertNever(command);
    }
  },
};
