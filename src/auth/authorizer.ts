import type { BindingDocument } from '../projections/bindings/bindings.projection.js';
import { BINDINGS } from '../projections/bindings/bindings.projection.js';
import type { ReadModels } from '../projections/read-models.js';
import { readModelOrLog } from '../readmodels/log-fallback.js';
import { forbidden } from '../shared/errors.js';
import { isInSubtree } from '../shared/ids.js';
import type { BindingData } from '../aggregates/binding/binding.js';
import {
  actionsFor,
  MANAGED_ROLE_IDS,
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
 * Whether a grant applies to something in `namespace` (null: a tenant-wide
 * resource). A tenant-wide grant applies everywhere; a namespace grant to its
 * subtree, and only for resources that live in namespaces.
 */
export function coversNamespace(grant: Grant, namespace: string | null): boolean {
  return (
    grant.namespace === null || (NAMESPACED_RESOURCES.has(grant.resource) && namespace !== null && isInSubtree(namespace, grant.namespace))
  );
}

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
    return this.grants.some((g) => g.resource === resource && g.action === action && coversNamespace(g, namespace));
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

/** Whose grants to compute: a caller, or (for effectivePermissions) any principal named by id, groups included. */
export type Subject =
  | { type: 'USER'; id: string; instanceAdmin: boolean }
  | { type: 'SERVICE_ACCOUNT'; id: string; tenantId: string }
  | { type: 'GROUP'; id: string }
  | { type: 'SYSTEM'; id: string };

/**
 * Everything grant computation needs about one tenant, as plain data. The
 * Authorizer fills it from read models (now); effectivePermissions fills it
 * by replaying the log (at any past time). Both then call `grantsFor`.
 */
export interface AccessData {
  /** Bindings of the tenant; at least those of the subject and of its groups. */
  bindings: readonly BindingData[];
  /** Enabled groups of the tenant that count the subject (a user) as a member. */
  groups: readonly string[];
  /** Permissions of the tenant's custom roles, by role id; a missing role grants nothing. */
  customRoles: ReadonlyMap<string, readonly Permission[]>;
}

export const NO_ACCESS_DATA: AccessData = { bindings: [], groups: [], customRoles: new Map() };

export function rolePermissions(roleId: string, customRoles: AccessData['customRoles']): readonly Permission[] {
  return MANAGED_ROLES.find((r) => r.id === roleId)?.permissions ?? customRoles.get(roleId) ?? [];
}

/** The one definition of who may do what in a tenant. */
export function grantsFor(subject: Subject, tenantId: string, data: AccessData): Grant[] {
  if (subject.type === 'SYSTEM') {
    return RESOURCES.flatMap((resource) => actionsFor(resource).map((action) => ({ resource, action, namespace: null, via: 'system' })));
  }
  // A service account exists in one tenant only; elsewhere it is nobody.
  if (subject.type === 'SERVICE_ACCOUNT' && subject.tenantId !== tenantId) return [];
  const groups = subject.type === 'USER' ? new Set(data.groups) : new Set<string>();
  const applies = (b: BindingData) =>
    (b.principalType === subject.type && b.principalId === subject.id) || (b.principalType === 'GROUP' && groups.has(b.principalId));
  const grants: Grant[] = [];
  for (const binding of data.bindings.filter(applies)) {
    const via = binding.principalType === 'GROUP' ? `group:${binding.principalId} binding:${binding.id}` : `binding:${binding.id}`;
    for (const permission of rolePermissions(binding.roleId, data.customRoles)) {
      for (const action of permission.actions) {
        grants.push({ resource: permission.resource, action, namespace: binding.namespace, via });
      }
    }
  }
  // Instance admins get no rights inside a tenant (Kestra's rule) except
  // managing access itself, so that a tenant created without an admin, or
  // whose last admin binding was deleted, can still be handed to someone.
  // Every such binding is in the audit log.
  if (subject.type === 'USER' && subject.instanceAdmin) {
    // ESCALATE too: handing a tenant to someone means binding a role the instance admin does not hold there.
    for (const action of ['VIEW', 'LIST', 'CREATE', 'DELETE', 'ESCALATE'] as const) {
      grants.push({ resource: 'BINDING', action, namespace: null, via: 'instance-admin' });
    }
    for (const action of ['VIEW', 'LIST'] as const) grants.push({ resource: 'ROLE', action, namespace: null, via: 'instance-admin' });
  }
  return grants;
}

/** Where the Authorizer reads custom roles and group memberships (read models in the application). */
export interface RoleLookup {
  /** Permissions of the tenant's custom roles among `roleIds`; missing or deleted roles are absent from the map. */
  customRoles(tenantId: string, roleIds: readonly string[]): Promise<Map<string, Permission[]>>;
  /** Groups of the tenant that count this user as a member, disabled groups left out. */
  groupsOf(tenantId: string, userId: string): Promise<string[]>;
  /** Whether the group is disabled (its bindings then grant nothing). */
  groupDisabled(tenantId: string, groupId: string): Promise<boolean>;
}

export class Authorizer {
  constructor(
    private readonly readModels: ReadModels,
    private readonly roles: RoleLookup,
    /** The same data replayed from the log, for when the read models are unreachable. */
    private readonly fromLog?: (subject: Subject, tenantId: string) => Promise<AccessData>,
    /**
     * Where the read models that decide access stand (e.g. the positions of
     * the bindings, groups and roles projections). Access data is cached per
     * subject and tenant for as long as it does not change, so a new binding
     * or revocation counts from the moment its projection applied it.
     */
    private readonly accessVersion?: () => string | null,
  ) {}

  private readonly cache = new Map<string, { version: string; data: AccessData }>();
  private static readonly CACHE_SIZE = 10_000;

  async access(principal: Principal, tenantId: string): Promise<Access> {
    return new Access(principal, tenantId, await this.grants(principal, tenantId));
  }

  /** Current grants of a subject in a tenant, from the read models. */
  async grants(subject: Subject, tenantId: string): Promise<Grant[]> {
    const version = this.accessVersion?.() ?? null;
    const key = `${tenantId}|${subject.type}|${subject.id}`;
    const cached = version === null ? undefined : this.cache.get(key);
    if (cached && cached.version === version) return grantsFor(subject, tenantId, cached.data);
    const fromLog = this.fromLog;
    let fromReadModels = true;
    const data = fromLog
      ? await readModelOrLog(
          () => this.accessData(subject, tenantId),
          () => {
            fromReadModels = false;
            return fromLog(subject, tenantId);
          },
        )
      : await this.accessData(subject, tenantId);
    if (version !== null && fromReadModels) {
      if (this.cache.size >= Authorizer.CACHE_SIZE) this.cache.delete(this.cache.keys().next().value ?? '');
      this.cache.set(key, { version, data });
    }
    return grantsFor(subject, tenantId, data);
  }

  private async accessData(subject: Subject, tenantId: string): Promise<AccessData> {
    if (subject.type === 'SYSTEM' || (subject.type === 'SERVICE_ACCOUNT' && subject.tenantId !== tenantId)) return NO_ACCESS_DATA;
    if (subject.type === 'GROUP' && (await this.roles.groupDisabled(tenantId, subject.id))) return NO_ACCESS_DATA;
    const groups = subject.type === 'USER' ? await this.roles.groupsOf(tenantId, subject.id) : [];
    const principals = [
      { principalType: subject.type, principalId: subject.id },
      ...groups.map((g) => ({ principalType: 'GROUP', principalId: g })),
    ];
    const bindings = await this.readModels.forTenant<BindingDocument>(BINDINGS, tenantId).find({ $or: principals });
    const custom = [...new Set(bindings.map((b) => b.roleId))].filter((id) => !MANAGED_ROLE_IDS.has(id));
    const customRoles = custom.length === 0 ? new Map<string, Permission[]>() : await this.roles.customRoles(tenantId, custom);
    return { bindings, groups, customRoles };
  }
}
