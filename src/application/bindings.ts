import { bindingDecider, PRINCIPAL_TYPES, type BindingState, type PrincipalType } from '../aggregates/binding/binding.js';
import type { Access } from '../auth/authorizer.js';
import { requireNoEscalation, rightsOf, type GivenRight } from '../auth/escalation.js';
import { derivedId } from '../commands/handler.js';
import { streamName } from '../eventstore/port.js';
import { BINDINGS, type BindingDocument } from '../projections/bindings/bindings.projection.js';
import type { TenantCollection } from '../readmodels/tenant-scoped.js';
import { badInput, conflict, DomainError, ErrorCode, notFound } from '../shared/errors.js';
import { isValidId, validateId } from '../shared/ids.js';
import type { Application } from './application.js';
import type { Caller } from './caller.js';
import type { PrincipalDirectory } from './principals.js';
import type { RoleService } from './roles.js';
import type { TenantService } from './tenants.js';

export interface BindingView {
  id: string;
  principalType: PrincipalType;
  principalId: string;
  roleId: string;
  namespace: string | null;
  /** Events in the binding's stream: 1 while it exists (bindings never change). */
  revision: number;
  createdAt: string;
  createdBy: string;
}

export interface BindingFilter {
  principalId?: string | null;
  roleId?: string | null;
  /** Bindings on exactly this namespace (tenant-wide bindings have none). */
  namespace?: string | null;
}

export interface CreateBindingInput {
  principalType: PrincipalType;
  principalId: string;
  roleId: string;
  namespace?: string | null;
}

export const bindingStream = (tenantId: string, id: string): string => streamName(tenantId, 'binding', id);

const toView = (doc: BindingDocument): BindingView => ({
  id: doc.id,
  principalType: doc.principalType,
  principalId: doc.principalId,
  roleId: doc.roleId,
  namespace: doc.namespace,
  revision: 1,
  createdAt: doc.createdAt,
  createdBy: doc.createdBy,
});

/** Bindings are immutable: create and delete, never update. */
export class BindingService {
  constructor(
    private readonly app: Pick<Application, 'commands' | 'execute' | 'readModels'>,
    private readonly tenants: TenantService,
    private readonly roles: RoleService,
    private readonly principals: PrincipalDirectory,
  ) {}

  collection(tenantId: string): TenantCollection<BindingDocument> {
    return this.app.readModels.forTenant<BindingDocument>(BINDINGS, tenantId);
  }

  async list(caller: Caller, tenantId: string, filter: BindingFilter = {}): Promise<BindingView[]> {
    const access = await this.tenants.enter(caller, tenantId);
    if (!access.scope('BINDING', 'LIST').all) return [];
    const query: Record<string, unknown> = {};
    if (filter.principalId != null) query['principalId'] = filter.principalId;
    if (filter.roleId != null) query['roleId'] = filter.roleId;
    if (filter.namespace != null) query['namespace'] = filter.namespace;
    return (await this.collection(tenantId).find(query, { sort: { createdAt: 1, id: 1 } })).map(toView);
  }

  /**
   * The role must exist in the tenant; the principal too (users anywhere,
   * groups and service accounts in this tenant). An identical binding is a
   * CONFLICT rather than a silent duplicate.
   */
  async create(caller: Caller, tenantId: string, input: CreateBindingInput) {
    const access = await this.tenants.enter(caller, tenantId);
    access.require('BINDING', 'CREATE');
    if (!PRINCIPAL_TYPES.includes(input.principalType)) throw badInput('principalType', 'unknown principal type');
    const roleId = validateId('name', 'roleId', input.roleId);
    const namespace = input.namespace == null ? null : validateId('namespace', 'namespace', input.namespace);
    const permissions = await this.roles.permissionsOf(tenantId, roleId);
    if (permissions === null) throw badInput('roleId', `role ${roleId} does not exist in this tenant`);
    requireNoEscalation(access, rightsOf(permissions, namespace), `binding role ${roleId}${namespace === null ? '' : ` on ${namespace}`}`);
    await this.principals.require(tenantId, input.principalType, input.principalId, 'principalId');
    const same = await this.collection(tenantId).findOne({
      principalType: input.principalType,
      principalId: input.principalId,
      roleId,
      namespace,
    });
    if (same) throw conflict(`an identical binding already exists (${same.id})`);

    const metadata = caller.commandMetadata(tenantId);
    const id = derivedId(metadata.commandId, 'binding');
    const result = await this.app.execute(bindingDecider, bindingStream(tenantId, id), {
      type: 'CreateBinding',
      data: { id, principalType: input.principalType, principalId: input.principalId, roleId, namespace },
      metadata,
    });
    caller.invalidateAccess();
    const createdAt = result.events[0]?.metadata.occurredAt ?? metadata.now;
    return {
      binding: fromState(result.state, createdAt, result.events[0]?.metadata.actor.id ?? metadata.actor.id),
      position: result.position,
    };
  }

  /** expectedRevision: the binding stream's revision (1 while it exists: bindings are immutable). */
  async delete(caller: Caller, tenantId: string, id: string, expectedRevision?: number | null) {
    (await this.tenants.enter(caller, tenantId)).require('BINDING', 'DELETE');
    const what = `binding ${id}`;
    if (!isValidId('name', id)) throw notFound(what);
    const result = await this.app.execute(
      bindingDecider,
      bindingStream(tenantId, id),
      { type: 'DeleteBinding', data: { id }, metadata: caller.commandMetadata(tenantId) },
      { expectedRevision },
    );
    caller.invalidateAccess();
    return { deleted: true, position: result.position };
  }

  /** The bindings that name this principal. */
  async boundTo(tenantId: string, principalType: PrincipalType, principalId: string): Promise<BindingView[]> {
    return (await this.collection(tenantId).find({ principalType, principalId }, { sort: { createdAt: 1, id: 1 } })).map(toView);
  }

  /** What the principal's bindings grant, as creating them would (see escalation.ts); a binding of a deleted role grants nothing. */
  async rightsBoundTo(tenantId: string, principalType: PrincipalType, principalId: string): Promise<GivenRight[]> {
    const rights: GivenRight[] = [];
    for (const binding of await this.boundTo(tenantId, principalType, principalId)) {
      const permissions = await this.roles.permissionsOf(tenantId, binding.roleId);
      if (permissions) rights.push(...rightsOf(permissions, binding.namespace));
    }
    return rights;
  }

  /**
   * Enabling a principal again gives its bindings' rights back: it needs what
   * creating those bindings would, BINDING:CREATE and every right they grant
   * (or BINDING:ESCALATE; see escalation.ts). Nothing when it has none.
   */
  async requireMayRegrant(
    access: Access,
    tenantId: string,
    principalType: PrincipalType,
    principalId: string,
    what: string,
  ): Promise<void> {
    const given = await this.rightsBoundTo(tenantId, principalType, principalId);
    if (given.length === 0) return;
    access.require('BINDING', 'CREATE');
    requireNoEscalation(access, given, what);
  }

  /**
   * Deletes every binding of the principal, each by its own command (its own
   * BindingDeleted event and audit entry), after checking BINDING:DELETE once
   * when there are any. Returns the last position written (0: none).
   */
  async deleteAllOf(caller: Caller, tenantId: string, principalType: PrincipalType, principalId: string): Promise<number> {
    const bound = await this.boundTo(tenantId, principalType, principalId);
    if (bound.length === 0) return 0;
    (await this.tenants.enter(caller, tenantId)).require('BINDING', 'DELETE');
    return this.deleteEach(caller, tenantId, bound);
  }

  /**
   * deleteUser: every binding of the user in every tenant, deleted tenants
   * included. Not authorized here: deleting a user is an instance admin's
   * right, and its bindings go with it. Returns the last position written.
   */
  async deleteAllOfUser(caller: Caller, userId: string): Promise<number> {
    const bound = await this.app.readModels
      .instanceCollection<BindingDocument>(BINDINGS)
      .find({ principalType: 'USER', principalId: userId }, { sort: { tenantId: 1, createdAt: 1 } });
    let position = 0;
    for (const tenantId of new Set(bound.map((b) => b.tenantId))) {
      const views = bound.filter((b) => b.tenantId === tenantId).map(toView);
      position = Math.max(position, await this.deleteEach(caller, tenantId, views));
    }
    return position;
  }

  /** One DeleteBinding command per binding (its own event and audit entry). */
  private async deleteEach(caller: Caller, tenantId: string, bound: readonly BindingView[]): Promise<number> {
    let position = 0;
    for (const binding of bound) {
      try {
        const result = await this.app.commands.handle(bindingDecider, bindingStream(tenantId, binding.id), {
          type: 'DeleteBinding',
          data: { id: binding.id },
          metadata: caller.commandMetadata(tenantId),
        });
        position = Math.max(position, result.position);
      } catch (error) {
        // Deleted meanwhile by someone else: what this cascade wanted already holds.
        if (!(error instanceof DomainError && error.code === ErrorCode.NOT_FOUND)) throw error;
      }
    }
    caller.invalidateAccess();
    return position;
  }
}

function fromState(state: BindingState, createdAt: string, createdBy: string): BindingView {
  if (state.status === 'absent') throw notFound('binding');
  const { id, principalType, principalId, roleId, namespace } = state;
  return { id, principalType, principalId, roleId, namespace, revision: 1, createdAt, createdBy };
}
