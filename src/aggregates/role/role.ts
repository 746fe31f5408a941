import {
  ACTIONS,
  MANAGED_ROLE_IDS,
  tenantActionsFor,
  RESOURCES,
  type Action,
  type Permission,
  type Resource,
} from '../../auth/permissions.js';
import { applyChanges, diff, type Changes, type Command, type Decider, type DomainEvent } from '../decider.js';
import { validateDescription } from '../namespace/namespace.js';
import { validateDisplayName, validateNamedEntity } from '../named-entity.js';
import { assertNever, badInput, conflict, notFound } from '../../shared/errors.js';
import { jsonEqual } from '../../shared/json.js';

/** A custom role of one tenant. The managed roles (admin, developer, editor, viewer) are built in, never events. */
export interface RoleSettings {
  name: string;
  description: string | null;
  permissions: Permission[];
}

export interface RolePatch {
  name?: unknown;
  description?: unknown;
  permissions?: unknown;
}

export type RoleCommand =
  | Command<'CreateRole', { id: string; name?: unknown; description?: unknown; permissions: unknown }>
  | Command<'UpdateRole', { id: string; patch: RolePatch }>
  | Command<'DeleteRole', { id: string }>;

export type RoleEvent =
  | DomainEvent<'RoleCreated', { id: string } & RoleSettings>
  | DomainEvent<'RoleUpdated', { id: string; changes: Changes<RoleSettings> }>
  | DomainEvent<'RoleDeleted', { id: string }>;

export type RoleState = { status: 'absent' } | ({ status: 'active' | 'deleted'; id: string } & RoleSettings);

export const ROLE_EVENT_TYPES = ['RoleCreated', 'RoleUpdated', 'RoleDeleted'] as const;

const MAX_PERMISSIONS = RESOURCES.length;

/**
 * Validates `[{resource, actions}]` and returns it in canonical order
 * (resources and actions in the order of RESOURCES and ACTIONS), so that an
 * update that only reorders changes nothing.
 */
export function validatePermissions(value: unknown): Permission[] {
  if (!Array.isArray(value)) throw badInput('permissions', 'permissions must be a list of {resource, actions}');
  if (value.length > MAX_PERMISSIONS) throw badInput('permissions', `at most ${MAX_PERMISSIONS} entries, one per resource`);
  const seen = new Set<Resource>();
  const permissions = value.map((item: unknown, i): Permission => {
    const field = `permissions[${i}]`;
    if (item === null || typeof item !== 'object') throw badInput(field, `${field} must be {resource, actions}`);
    const { resource, actions } = item as Record<string, unknown>;
    if (typeof resource !== 'string' || !(RESOURCES as readonly string[]).includes(resource)) {
      throw badInput(`${field}.resource`, `${field}.resource must be one of ${RESOURCES.join(', ')}`);
    }
    const typed = resource as Resource;
    if (seen.has(typed)) throw badInput(`${field}.resource`, `${typed} appears twice; list all its actions in one entry`);
    seen.add(typed);
    if (!Array.isArray(actions) || actions.length === 0) throw badInput(`${field}.actions`, `${field}.actions must be a non-empty list`);
    const allowed = tenantActionsFor(typed);
    if (allowed.length === 0) {
      throw badInput(`${field}.resource`, `${typed} has no action a tenant role can use: instance admins manage it`);
    }
    actions.forEach((action: unknown, j) => {
      if (typeof action !== 'string' || !(allowed as string[]).includes(action)) {
        throw badInput(`${field}.actions[${j}]`, `${typed} supports the actions ${allowed.join(', ')} in a tenant role`);
      }
    });
    const unique = new Set(actions as Action[]);
    return { resource: typed, actions: ACTIONS.filter((a) => unique.has(a)) };
  });
  return permissions.sort((a, b) => RESOURCES.indexOf(a.resource) - RESOURCES.indexOf(b.resource));
}

function validateRolePatch(patch: RolePatch): Partial<RoleSettings> {
  const out: Partial<RoleSettings> = {};
  if (patch.name !== undefined && patch.name !== null) out.name = validateDisplayName(patch.name);
  if (patch.description !== undefined) out.description = validateDescription(patch.description);
  if (patch.permissions !== undefined && patch.permissions !== null) out.permissions = validatePermissions(patch.permissions);
  return out;
}

/** Managed roles exist in every tenant and cannot be changed: a client error about the input, not a missing permission. */
function refuseManaged(id: string): void {
  if (MANAGED_ROLE_IDS.has(id)) throw badInput('id', `${id} is a managed role and cannot be changed or deleted`);
}

export const roleDecider: Decider<RoleCommand, RoleEvent, RoleState> = {
  name: 'role',
  stateVersion: 1,
  initialState: () => ({ status: 'absent' }),

  evolve(state, event) {
    switch (event.type) {
      case 'RoleCreated':
        return { status: 'active', ...event.data };
      case 'RoleUpdated':
        return state.status === 'absent' ? state : { ...state, ...applyChanges<RoleSettings>(state, event.data.changes) };
      case 'RoleDeleted':
        return state.status === 'absent' ? state : { ...state, status: 'deleted' };
      default:
        return assertNever(event);
    }
  },

  decide(command, state) {
    switch (command.type) {
      case 'CreateRole': {
        const { id, name, description } = validateNamedEntity(command.data);
        const permissions = validatePermissions(command.data.permissions);
        if (MANAGED_ROLE_IDS.has(id)) throw conflict(`role ${id} already exists: it is a managed role`);
        if (state.status === 'active') throw conflict(`role ${id} already exists`);
        return [{ type: 'RoleCreated', data: { id, name, description, permissions } }];
      }
      case 'UpdateRole': {
        refuseManaged(command.data.id);
        const patch = validateRolePatch(command.data.patch);
        if (state.status !== 'active') throw notFound(`role ${command.data.id}`);
        const changes = diff<RoleSettings>(state, patch, jsonEqual);
        return Object.keys(changes).length === 0 ? [] : [{ type: 'RoleUpdated', data: { id: state.id, changes } }];
      }
      case 'DeleteRole': {
        refuseManaged(command.data.id);
        if (state.status !== 'active') throw notFound(`role ${command.data.id}`);
        return [{ type: 'RoleDeleted', data: { id: state.id } }];
      }
      default:
        return assertNever(command);
    }
  },
};
