import type { BindingDocument } from '../projections/bindings/bindings.projection.js';
import { BINDINGS } from '../projections/bindings/bindings.projection.js';
import type { ReadModels } from '../readmodels/registry.js';
import { tenantScoped } from '../readmodels/tenant-scoped.js';
import { forbidden } from '../shared/errors.js';
import { isInSubtree } from '../shared/ids.js';
import {
  actionsFor,
  MANAGED_ROLES,
  RESOURCES,
  NAMESPACED_RESOURCES,
  permissionKey,
  type Action,
  type Permission,
  type Resource,
} from './permissions.js';
import type { Principal } from './principal.js';

export interface Grant {
  resource: Resource;
  action: Action;
  /** null: tenant-wide. */
  namespace: string | null;
  /** The binding (or group, or rule) that grants it, for effectivePermissions. */
  via: string;
}

/** Where a list may look: everywhere, or only below these namespaces. */
export type ListScope = { all: true } | { all: false; namespaces: string[] };

/**
 * What one principal may do in one tenant. Built once per request and tenant;
 * used by command handlers (require) and by list queries (scope) alike.
 */
export class Access {
  constructor(
    readonly principal: Principal,
    readonly tenantId: string,
    readonly grants: readonly Grant[],
  ) {}

  can(resource: Resource, action: Action, namespace: string | null = null): boolean {
    return this.grants.some(
      (g) =>
        g.resource === resource &&
        g.action === action &&
        (g.namespace === null || (NAMESPACED_RESOURCES.has(resource) && namespace !== null && isInSubtree(namespace, g.namespace))),
    );
  }

  require(resource: Resource, action: Action, namespace: string | null = null): void {
    if (!this.can(resource, action, namespace)) throw forbidden(permissionKey(resource, action));
  }

  scope(resource: Resource, action: Action): ListScope {
    const matching = this.grants.filter((g) => g.resource === resource && g.action === action);
    if (matching.some((g) => g.namespace === null)) return { all: true };
    if (!NAMESPACED_RESOURCES.has(resource)) return { all: false, namespaces: [] };
    return { all: false, namespaces: [...new Set(matching.map((g) => g.namespace as string))] };
  }
}

/** A MongoDB filter on a namespace field that matches a list scope (namespace or its subtree). */
export function namespaceScopeFilter(field: string, scope: ListScope): Record<string, unknown> | null {
  if (scope.all) return null;
  if (scope.namespaces.length === 0) return { [field]: { $in: [] } };
  return {
    $or: scope.namespaces.flatMap((ns) => [{ [field]: ns }, { [field]: { $regex: `^${ns.replace(/\./g, '\\.')}\\.` } }]),
  };
}

export interface RoleLookup {
  /** Permissions of a custom role, or null when it does not exist. */
  customRole(tenantId: string, roleId: string): Promise<Permission[] | null>;
  /** Groups of the tenant that count this user as a member. */
  groupsOf(tenantId: string, userId: string): Promise<string[]>;
}

export class Authorizer {
  constructor(
    private readonly readModels: ReadModels,
    private readonly roles: RoleLookup,
  ) {}

  async access(principal: Principal, tenantId: string): Promise<Access> {
    return new Access(principal, tenantId, await this.grants(principal, tenantId));
  }

  async grants(principal: Principal, tenantId: string): Promise<Grant[]> {
    if (principal.type === 'SYSTEM') {
      return RESOURCES.flatMap((resource) => actionsFor(resource).map((action) => ({ resource, action, namespace: null, via: 'system' })));
    }
    // A service account exists in one tenant only; elsewhere it is nobody.
    if (principal.type === 'SERVICE_ACCOUNT' && principal.tenantId !== tenantId) return [];
    const bindings = tenantScoped(this.readModels.instanceCollection<BindingDocument>(BINDINGS), tenantId);
    const groups = principal.type === 'USER' ? await this.roles.groupsOf(tenantId, principal.id) : [];
    const principals = [
      { principalType: principal.type, principalId: principal.id },
      ...groups.map((g) => ({ principalType: 'GROUP', principalId: g })),
    ];
    const found = await bindings.find({ $or: principals });
    const grants: Grant[] = [];
    for (const binding of found) {
      const permissions = await this.rolePermissions(tenantId, binding.roleId);
      const via = binding.principalType === 'GROUP' ? `group:${binding.principalId} binding:${binding.id}` : `binding:${binding.id}`;
      for (const permission of permissions) {
        for (const action of permission.actions) {
          grants.push({ resource: permission.resource, action, namespace: binding.namespace, via });
        }
      }
    }
    // Instance admins get no rights inside a tenant (Kestra's rule) except
    // managing access itself, so that a tenant created without an admin can
    // still be handed to someone. Every such binding is in the audit log.
    if (principal.type === 'USER' && principal.instanceAdmin) {
      for (const action of ['VIEW', 'LIST', 'CREATE', 'DELETE'] as const) {
        grants.push({ resource: 'BINDING', action, namespace: null, via: 'instance-admin' });
      }
      for (const action of ['VIEW', 'LIST'] as const) grants.push({ resource: 'ROLE', action, namespace: null, via: 'instance-admin' });
    }
    return grants;
  }

  private async rolePermissions(tenantId: string, roleId: string): Promise<Permission[]> {
    const managed = MANAGED_ROLES.find((r) => r.id === roleId);
    if (managed) return managed.permissions;
    return (await this.roles.customRole(tenantId, roleId)) ?? [];
  }
}
