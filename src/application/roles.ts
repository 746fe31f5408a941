import { roleDecider, validatePermissions, type RolePatch, type RoleState } from '../aggregates/role/role.js';
import type { Access } from '../auth/authorizer.js';
import { requireNoEscalation, rightsOf } from '../auth/escalation.js';
import { MANAGED_ROLE_IDS, MANAGED_ROLES, tenantActionsFor, type Permission, type RoleDefinition } from '../auth/permissions.js';
import { streamName } from '../eventstore/port.js';
import { BINDINGS, type BindingDocument } from '../projections/bindings/bindings.projection.js';
import { ROLES, type RoleDocument } from '../projections/roles/roles.projection.js';
import { docId } from '../projections/runtime/projection.js';
import type { TenantCollection } from '../readmodels/tenant-scoped.js';
import { conflict, notFound } from '../shared/errors.js';
import { isValidId, validateId } from '../shared/ids.js';
import type { Slicer } from '../shared/slices.js';
import type { Application } from './application.js';
import type { Caller } from './caller.js';
import type { TenantService } from './tenants.js';

export interface RoleView {
  id: string;
  name: string;
  description: string | null;
  permissions: Permission[];
  managed: boolean;
  /** Managed roles are built in and never change: revision 0. */
  revision: number;
  createdAt: string | null;
  updatedAt: string | null;
}

export interface CreateRoleInput {
  id: string;
  name?: string | null;
  description?: string | null;
  permissions: unknown;
}

export const roleStream = (tenantId: string, id: string): string => streamName(tenantId, 'role', id);

const managedView = (role: RoleDefinition): RoleView => ({
  ...role,
  permissions: role.permissions.map((p) => ({ ...p, actions: [...p.actions] })),
  revision: 0,
  createdAt: null,
  updatedAt: null,
});

/**
 * Only what a tenant role can use: a custom role saved before such actions
 * were refused (e.g. TENANT:CREATE) still has them in its events, where they
 * never granted anything.
 */
const usable = (permissions: Permission[]): Permission[] =>
  permissions
    .map((p) => ({ resource: p.resource, actions: p.actions.filter((a) => tenantActionsFor(p.resource).includes(a)) }))
    .filter((p) => p.actions.length > 0);

const documentView = (doc: RoleDocument): RoleView => ({
  id: doc.id,
  name: doc.name,
  description: doc.description,
  permissions: usable(doc.permissions),
  managed: false,
  revision: doc.revision,
  createdAt: doc.createdAt,
  updatedAt: doc.updatedAt,
});

function stateView(state: RoleState, revision: number, times: { createdAt: string | null; updatedAt: string | null }): RoleView {
  if (state.status === 'absent') throw notFound('role');
  const { id, name, description, permissions } = state;
  return { id, name, description, permissions: usable(permissions), managed: false, revision, ...times };
}

/** Roles of a tenant: the four managed ones, plus custom roles (event-sourced). */
export class RoleService {
  constructor(
    private readonly app: Pick<Application, 'commands' | 'execute' | 'readModels'>,
    private readonly tenants: TenantService,
  ) {}

  collection(tenantId: string): TenantCollection<RoleDocument> {
    return this.app.readModels.forTenant<RoleDocument>(ROLES, tenantId);
  }

  async list(caller: Caller, tenantId: string): Promise<RoleView[]> {
    const access = await this.tenants.enter(caller, tenantId);
    if (!access.scope('ROLE', 'LIST').all) return [];
    const custom = await this.collection(tenantId).find({}, { sort: { id: 1 } });
    return [...MANAGED_ROLES.map(managedView), ...custom.map(documentView)];
  }

  async get(caller: Caller, tenantId: string, id: string, asOf?: Date | null): Promise<RoleView | null> {
    const access = await this.tenants.enter(caller, tenantId);
    if (!access.can('ROLE', 'VIEW') || !isValidId('name', id)) return null;
    const managed = MANAGED_ROLES.find((r) => r.id === id);
    if (managed) return managedView(managed);
    if (asOf) return this.asOf(tenantId, id, asOf, caller.slicer());
    const doc = await this.collection(tenantId).findOne({ _id: docId(tenantId, id) });
    return doc ? documentView(doc) : null;
  }

  /** Time travel: the role's own stream up to `asOf`, from the nearest snapshot. */
  private async asOf(tenantId: string, id: string, asOf: Date, slicer: Slicer): Promise<RoleView | null> {
    const loaded = await this.app.commands.loadAsOf(roleDecider, roleStream(tenantId, id), asOf, { slicer });
    if (loaded.state.status !== 'active') return null;
    return stateView(loaded.state, loaded.revision, { createdAt: loaded.createdAt, updatedAt: loaded.lastAt });
  }

  /** Managed roles always exist; custom ones while not deleted. */
  async exists(tenantId: string, id: string): Promise<boolean> {
    if (MANAGED_ROLE_IDS.has(id)) return true;
    return isValidId('name', id) && (await this.collection(tenantId).findOne({ _id: docId(tenantId, id) })) !== null;
  }

  /** The permissions of a role of the tenant (managed or custom); null when it does not exist. */
  async permissionsOf(tenantId: string, id: string): Promise<Permission[] | null> {
    const managed = MANAGED_ROLES.find((r) => r.id === id);
    if (managed) return managed.permissions;
    if (!isValidId('name', id)) return null;
    return (await this.collection(tenantId).findOne({ _id: docId(tenantId, id) }))?.permissions ?? null;
  }

  /**
   * A role that is bound grants what it says to everyone bound to it: a new
   * permission in it is a grant at the scope of each of its bindings, which
   * the caller must hold there (see escalation.ts). Bindings of a role id
   * that does not exist (yet) count too: one created while the role was
   * being deleted comes back to life with the role.
   */
  private async requireNoWidening(access: Access, tenantId: string, id: string, after: unknown): Promise<void> {
    if (after === undefined || after === null) return;
    const { state } = await this.app.commands.load(roleDecider, roleStream(tenantId, id));
    const before = state.status === 'active' ? state.permissions : [];
    const held = new Set(before.flatMap((p) => p.actions.map((a) => `${p.resource}:${a}`)));
    const added = validatePermissions(after)
      .map((p) => ({ resource: p.resource, actions: p.actions.filter((a) => !held.has(`${p.resource}:${a}`)) }))
      .filter((p) => p.actions.length > 0);
    if (added.length === 0) return;
    const bindings = this.app.readModels.forTenant<BindingDocument>(BINDINGS, tenantId);
    const scopes = new Set((await bindings.find({ roleId: id }, { projection: { namespace: 1 } })).map((b) => b.namespace));
    requireNoEscalation(
      access,
      [...scopes].flatMap((namespace) => rightsOf(added, namespace)),
      `widening role ${id}, which is bound,`,
    );
  }

  async create(caller: Caller, tenantId: string, input: CreateRoleInput) {
    const access = await this.tenants.enter(caller, tenantId);
    access.require('ROLE', 'CREATE');
    const id = validateId('name', 'id', input.id);
    if (!MANAGED_ROLE_IDS.has(id)) await this.requireNoWidening(access, tenantId, id, input.permissions);
    const metadata = caller.commandMetadata(tenantId);
    const result = await this.app.execute(roleDecider, roleStream(tenantId, id), {
      type: 'CreateRole',
      data: { id, name: input.name, description: input.description, permissions: input.permissions },
      metadata,
    });
    return { role: await this.view(tenantId, result.state, result.revision), position: result.position };
  }

  async update(caller: Caller, tenantId: string, id: string, patch: RolePatch, expectedRevision?: number | null) {
    const access = await this.tenants.enter(caller, tenantId);
    access.require('ROLE', 'UPDATE');
    validateId('name', 'id', id);
    if (!MANAGED_ROLE_IDS.has(id)) await this.requireNoWidening(access, tenantId, id, patch.permissions);
    const result = await this.app.execute(
      roleDecider,
      roleStream(tenantId, id),
      { type: 'UpdateRole', data: { id, patch }, metadata: caller.commandMetadata(tenantId) },
      { expectedRevision },
    );
    caller.invalidateAccess();
    return { role: await this.view(tenantId, result.state, result.revision), position: result.position };
  }

  /**
   * Refused (CONFLICT) while a binding still uses the role: delete the
   * bindings first, so that nobody silently loses access. A binding created
   * concurrently with the delete would grant nothing (its role is gone).
   */
  async delete(caller: Caller, tenantId: string, id: string, expectedRevision?: number | null) {
    (await this.tenants.enter(caller, tenantId)).require('ROLE', 'DELETE');
    validateId('name', 'id', id);
    if (!MANAGED_ROLE_IDS.has(id)) {
      const bindings = this.app.readModels.forTenant<BindingDocument>(BINDINGS, tenantId);
      const bound = await bindings.countDocuments({ roleId: id });
      if (bound > 0) throw conflict(`role ${id} is still used by ${bound} binding(s); delete them first`);
    }
    const result = await this.app.execute(
      roleDecider,
      roleStream(tenantId, id),
      { type: 'DeleteRole', data: { id }, metadata: caller.commandMetadata(tenantId) },
      { expectedRevision },
    );
    caller.invalidateAccess();
    return { deleted: true, position: result.position };
  }

  private async view(tenantId: string, state: RoleState, revision: number): Promise<RoleView> {
    const id = state.status === 'absent' ? '' : state.id;
    const doc = await this.collection(tenantId).findOne({ _id: docId(tenantId, id) });
    return stateView(state, revision, { createdAt: doc?.createdAt ?? null, updatedAt: doc?.updatedAt ?? null });
  }
}
