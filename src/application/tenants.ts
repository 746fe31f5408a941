import { bindingDecider } from '../aggregates/binding/binding.js';
import { DEFAULT_TENANT, tenantDecider, type TenantState } from '../aggregates/tenant/tenant.js';
import { userDecider } from '../aggregates/user/user.js';
import type { Access } from '../auth/authorizer.js';
import { isInstanceAdmin } from '../auth/principal.js';
import { derivedId } from '../commands/handler.js';
import { INSTANCE_SCOPE, streamName } from '../eventstore/port.js';
import { TENANTS, type TenantDocument } from '../projections/tenants/tenants.projection.js';
import { USERS, type UserDocument } from '../projections/users/users.projection.js';
import { badInput, conflict, DomainError, ErrorCode, forbidden, notFound, tenantNotFound } from '../shared/errors.js';
import { isValidId, validateId } from '../shared/ids.js';
import type { Application } from './application.js';
import { readModelOrLog, readModelOrNull } from '../readmodels/log-fallback.js';
import type { Caller } from './caller.js';

export interface TenantView {
  id: string;
  name: string;
  domains: string[];
  requireExistingNamespace: boolean;
  deleted: boolean;
  revision: number;
  createdAt: string;
  updatedAt: string;
}

export interface CreateTenantInput {
  id: string;
  name: string;
  domains?: string[] | null;
  requireExistingNamespace?: boolean | null;
  adminUserId?: string | null;
}

export interface UpdateTenantInput {
  name?: string | null;
  domains?: string[] | null;
  requireExistingNamespace?: boolean | null;
}

const IPV4 = /^\d+(\.\d+){0,3}$/;

/** Same permission as before (TENANT:UPDATE), with the reason: domains are the instance admins' to give. */
const domainsForbidden = (): DomainError =>
  new DomainError(ErrorCode.FORBIDDEN, "only instance admins set a tenant's domains (missing permission TENANT:UPDATE)", {
    permission: 'TENANT:UPDATE',
    field: 'domains',
  });

export const tenantStream = (id: string): string => streamName(id, 'tenant');
export const userStream = (id: string): string => streamName(INSTANCE_SCOPE, 'user', id);

const toView = (doc: TenantDocument): TenantView => ({
  id: doc.id,
  name: doc.name,
  domains: doc.domains,
  requireExistingNamespace: doc.requireExistingNamespace,
  deleted: doc.deleted,
  revision: doc.revision,
  createdAt: doc.createdAt,
  updatedAt: doc.updatedAt,
});

export class TenantService {
  constructor(private readonly app: Pick<Application, 'commands' | 'config' | 'execute' | 'readModels' | 'vault'>) {}

  private get tenants() {
    return this.app.readModels.instanceCollection<TenantDocument>(TENANTS);
  }

  /** The tenant a tenant-level operation runs in: it must exist and not be deleted. */
  async requireActive(tenantId: string): Promise<TenantDocument> {
    if (!isValidId('tenant', tenantId)) throw tenantNotFound(tenantId);
    const doc = await readModelOrLog(
      () => this.tenants.findOne({ _id: tenantId }),
      () => this.fromLog(tenantId),
    );
    if (!doc || doc.deleted) throw tenantNotFound(tenantId);
    return doc;
  }

  /** The tenant as its own stream says, for when the read models are unreachable. */
  private async fromLog(tenantId: string): Promise<TenantDocument | null> {
    const { state, revision, createdAt, lastAt } = await this.app.commands.load(tenantDecider, tenantStream(tenantId));
    if (state.status === 'absent') return null;
    const view = this.fromState(state, revision, createdAt ?? undefined);
    return { ...view, _id: tenantId, tenantId, _pos: 0, updatedAt: lastAt ?? view.updatedAt };
  }

  /**
   * The entry point of every tenant-level operation: authenticated first, then
   * the tenant must be active, then the caller's rights there. A caller with
   * no rights at all in a tenant cannot tell it from a missing one.
   */
  async enter(caller: Caller, tenantId: string): Promise<Access> {
    caller.authenticated();
    await this.requireActive(tenantId);
    const access = await caller.access(tenantId);
    if (access.grants.length === 0) throw tenantNotFound(tenantId);
    return access;
  }

  async byDomain(host: string): Promise<TenantDocument | null> {
    return this.tenants.findOne({ domains: host.toLowerCase(), deleted: false });
  }

  async list(caller: Caller, includeDeleted: boolean): Promise<TenantView[]> {
    const principal = caller.authenticated();
    const filter: Record<string, unknown> = includeDeleted ? {} : { deleted: false };
    // The local system principal (the CLI) sees what an instance admin sees.
    if (!isInstanceAdmin(principal) && principal.type !== 'SYSTEM') {
      // Everyone else sees the tenants they hold a binding in.
      filter['_id'] = { $in: await this.tenantsOf(caller) };
      filter['deleted'] = false;
    }
    return (await this.tenants.find(filter, { sort: { id: 1 } })).map(toView);
  }

  async get(caller: Caller, id: string): Promise<TenantView | null> {
    const principal = caller.authenticated();
    if (!isValidId('tenant', id)) return null;
    const doc = await this.tenants.findOne({ _id: id });
    if (!doc) return null;
    if (isInstanceAdmin(principal) || principal.type === 'SYSTEM') return toView(doc);
    if (doc.deleted) return null;
    return (await this.tenantsOf(caller)).includes(id) ? toView(doc) : null;
  }

  /** Tenants where the caller holds at least one grant. */
  async tenantsOf(caller: Caller): Promise<string[]> {
    const principal = caller.authenticated();
    if (principal.type === 'SERVICE_ACCOUNT') return [principal.tenantId];
    const all = await this.tenants.find({ deleted: false }, { projection: { _id: 1 } });
    const result: string[] = [];
    for (const tenant of all) {
      const access = await caller.access(tenant._id);
      if (access.grants.some((g) => g.via !== 'instance-admin')) result.push(tenant._id);
    }
    return result;
  }

  async create(caller: Caller, input: CreateTenantInput): Promise<{ tenant: TenantView; position: number }> {
    const principal = caller.authenticated();
    const selfService = this.app.config.selfServiceTenants && principal.type === 'USER';
    if (!isInstanceAdmin(principal) && principal.type !== 'SYSTEM' && !selfService) throw forbidden('TENANT:CREATE');
    const id = validateId('tenant', 'id', input.id);
    // A self-service creator becomes the tenant's admin (docs/access-control.md, "No escalation by delegation"), and may not hand that to someone else.
    const selfServed = selfService && !isInstanceAdmin(principal);
    if (selfServed && input.adminUserId != null && input.adminUserId !== principal.id) {
      throw badInput('adminUserId', 'when you create a tenant yourself you become its admin: leave adminUserId out or name yourself');
    }
    // A host name routes every request that names it: only instance admins hand one out.
    if (selfServed && input.domains != null && input.domains.length > 0) throw domainsForbidden();
    const adminUserId = selfServed ? principal.id : (input.adminUserId ?? null);
    if (adminUserId !== null) await this.requireUser(adminUserId, 'adminUserId');
    this.requireNotGatewayHosts(input.domains ?? []);
    await this.requireDomainsFree(id, input.domains ?? []);

    const result = await this.app.execute(tenantDecider, tenantStream(id), {
      type: 'CreateTenant',
      data: {
        id,
        name: input.name,
        ...(input.domains ? { domains: input.domains } : {}),
        ...(input.requireExistingNamespace != null ? { requireExistingNamespace: input.requireExistingNamespace } : {}),
      },
      metadata: caller.commandMetadata(id),
    });
    let position = result.position;
    if (adminUserId !== null) {
      const metadata = caller.commandMetadata(id);
      const bindingId = derivedId(metadata.commandId, 'admin-binding');
      const binding = await this.app.execute(bindingDecider, streamName(id, 'binding', bindingId), {
        type: 'CreateBinding',
        data: { id: bindingId, principalType: 'USER', principalId: adminUserId, roleId: 'admin', namespace: null },
        metadata: { ...metadata, causationId: result.events[0]?.id },
      });
      position = Math.max(position, binding.position);
      caller.invalidateAccess();
    }
    return { tenant: this.fromState(result.state, result.revision, result.events[0]?.metadata.occurredAt), position };
  }

  async update(caller: Caller, id: string, input: UpdateTenantInput, expectedRevision?: number | null) {
    await this.authorizeTenantAdmin(caller, id, 'UPDATE', input.domains != null);
    // Before the log is asked: with expectedRevision, an invalid id would otherwise answer CONFLICT.
    if (!isValidId('tenant', id)) throw tenantNotFound(id);
    if (input.domains) {
      this.requireNotGatewayHosts(input.domains);
      await this.requireDomainsFree(id, input.domains);
    }
    const result = await this.app.execute(
      tenantDecider,
      tenantStream(id),
      {
        type: 'UpdateTenant',
        data: {
          id,
          ...(input.name != null ? { name: input.name } : {}),
          ...(input.domains != null ? { domains: input.domains } : {}),
          ...(input.requireExistingNamespace != null ? { requireExistingNamespace: input.requireExistingNamespace } : {}),
        },
        metadata: caller.commandMetadata(id),
      },
      { expectedRevision },
    );
    return { tenant: await this.view(id, result.state, result.revision), position: result.position };
  }

  /**
   * Soft delete, and crypto-shredding of the tenant's secret values: its data
   * key is destroyed once TenantDeleted is in the log. Done here rather than
   * by a reactor over the log, because a reactor replayed during a rebuild
   * would destroy a key created after a later restore. The gap between the
   * append and the destroy (a crash, an unreachable vault) is closed twice:
   * `restore` destroys the key again before the tenant comes back, and
   * SecretService.shredDeletedTenants sweeps deleted tenants at start.
   */
  async delete(caller: Caller, id: string, expectedRevision?: number | null) {
    this.requireInstanceAdmin(caller, 'TENANT:DELETE');
    if (!isValidId('tenant', id)) throw tenantNotFound(id);
    const result = await this.app.execute(
      tenantDecider,
      tenantStream(id),
      { type: 'DeleteTenant', data: { id }, metadata: caller.commandMetadata(id) },
      { expectedRevision },
    );
    // A replayed request (same Idempotency-Key) after a restore finds the tenant active again: its new key stays.
    if (result.state.status === 'deleted') await this.app.vault.destroyTenantKey(id);
    return { tenant: await this.view(id, result.state, result.revision), position: result.position };
  }

  /** Brings back everything but secret values: those were shredded with the data key (see `delete`). */
  async restore(caller: Caller, id: string, expectedRevision?: number | null) {
    this.requireInstanceAdmin(caller, 'TENANT:UPDATE');
    if (!isValidId('tenant', id)) throw tenantNotFound(id);
    const { state, revision } = await this.app.commands.load(tenantDecider, tenantStream(id));
    // Before the key is touched: a stale restore changes nothing at all.
    if (expectedRevision != null && expectedRevision !== revision) {
      throw conflict(`${tenantStream(id)} is at revision ${revision}, not ${expectedRevision}`, revision);
    }
    if (state.status === 'deleted') await this.app.vault.destroyTenantKey(id);
    const result = await this.app.execute(
      tenantDecider,
      tenantStream(id),
      { type: 'RestoreTenant', data: { id }, metadata: caller.commandMetadata(id) },
      { expectedRevision },
    );
    return { tenant: await this.view(id, result.state, result.revision), position: result.position };
  }

  private requireInstanceAdmin(caller: Caller, permission: string): void {
    const principal = caller.authenticated();
    if (!isInstanceAdmin(principal) && principal.type !== 'SYSTEM') throw forbidden(permission);
  }

  /** Instance admins manage every tenant; a tenant's own admin may change its name and settings, not its domains. */
  private async authorizeTenantAdmin(caller: Caller, id: string, action: 'UPDATE', touchesDomains: boolean): Promise<void> {
    const principal = caller.authenticated();
    if (isInstanceAdmin(principal) || principal.type === 'SYSTEM') return;
    if (touchesDomains) throw domainsForbidden();
    (await this.enter(caller, id)).require('TENANT', action);
  }

  private async requireUser(userId: string, field: string): Promise<void> {
    const users = this.app.readModels.instanceCollection<UserDocument>(USERS);
    if (!isValidId('user', userId) || !(await users.findOne({ _id: userId }))) {
      throw new DomainError(ErrorCode.BAD_USER_INPUT, `user ${userId} does not exist`, { field });
    }
  }

  /**
   * The gateway's own names (and any IP address) answer the instance
   * endpoint: as a tenant's domain they would route everyone's requests there.
   */
  private requireNotGatewayHosts(domains: readonly string[]): void {
    const own = new Set(this.app.config.gatewayHosts);
    domains.forEach((domain, i) => {
      const host = String(domain).trim().toLowerCase().replace(/\.$/, '');
      if (own.has(host) || host.endsWith('.localhost') || IPV4.test(host)) {
        throw badInput(
          `domains[${i}]`,
          `${host} is one of the gateway's own host names (or an IP address) and cannot be a tenant's domain`,
        );
      }
    });
  }

  /** A host name belongs to at most one tenant (checked against the read model before the command). */
  private async requireDomainsFree(id: string, domains: readonly string[]): Promise<void> {
    if (domains.length === 0) return;
    const hosts = domains.map((d) => String(d).trim().toLowerCase());
    const owner = await this.tenants.findOne({ domains: { $in: hosts }, _id: { $ne: id } });
    if (owner) {
      const taken = owner.domains.filter((d) => hosts.includes(d));
      throw conflict(`domain ${taken.join(', ')} already belongs to another tenant`);
    }
  }

  private fromState(state: TenantState, revision: number, at = new Date().toISOString()): TenantView {
    if (state.status === 'absent') throw notFound('tenant');
    return {
      id: state.id,
      name: state.name,
      domains: state.domains,
      requireExistingNamespace: state.requireExistingNamespace,
      deleted: state.status === 'deleted',
      revision,
      createdAt: at,
      updatedAt: at,
    };
  }

  /** A mutation's answer comes from the aggregate state; timestamps come from the read model when it has them. */
  private async view(id: string, state: TenantState, revision: number): Promise<TenantView> {
    const doc = await readModelOrNull(() => this.tenants.findOne({ _id: id }));
    const view = this.fromState(state, revision, doc?.createdAt);
    return doc ? { ...view, createdAt: doc.createdAt, updatedAt: doc.revision === revision ? doc.updatedAt : view.updatedAt } : view;
  }
}

/** Bootstrap: tenant `main` and the instance admin `admin` bound to `admin` there. Idempotent across restarts and replicas. */
export async function bootstrap(app: Pick<Application, 'events' | 'execute'>, caller: Caller): Promise<void> {
  const system = { ...caller.commandMetadata(DEFAULT_TENANT) };
  const fixed = (suffix: string) => ({ ...system, commandId: `bootstrap:${suffix}`, correlationId: 'bootstrap', fresh: false });
  const tenantEvents = await app.events.readStream(tenantStream(DEFAULT_TENANT), { maxCount: 1 });
  if (tenantEvents.length === 0) {
    await app.execute(tenantDecider, tenantStream(DEFAULT_TENANT), {
      type: 'CreateTenant',
      data: { id: DEFAULT_TENANT, name: 'Main' },
      metadata: fixed('tenant-main'),
    });
  }
  if ((await app.events.readStream(userStream('admin'), { maxCount: 1 })).length === 0) {
    await app.execute(userDecider, userStream('admin'), {
      type: 'CreateUser',
      data: { id: 'admin', email: 'admin@localhost', name: 'Instance admin', instanceAdmin: true },
      metadata: { ...fixed('user-admin'), tenantId: INSTANCE_SCOPE },
    });
  }
  const bindingId = 'bootstrap-admin';
  if ((await app.events.readStream(streamName(DEFAULT_TENANT, 'binding', bindingId), { maxCount: 1 })).length === 0) {
    await app.execute(bindingDecider, streamName(DEFAULT_TENANT, 'binding', bindingId), {
      type: 'CreateBinding',
      data: { id: bindingId, principalType: 'USER', principalId: 'admin', roleId: 'admin', namespace: null },
      metadata: fixed('binding-admin'),
    });
  }
}
