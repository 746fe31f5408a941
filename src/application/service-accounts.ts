import type { NamedEntityPatch } from '../aggregates/named-entity.js';
import {
  serviceAccountDecider,
  type ServiceAccountCommand,
  type ServiceAccountState,
} from '../aggregates/service-account/service-account.js';
import { streamName } from '../eventstore/port.js';
import type { ServiceAccountDocument } from '../projections/service-accounts/service-accounts.projection.js';
import { docId } from '../projections/runtime/projection.js';
import { conflict, notFound } from '../shared/errors.js';
import { validateId } from '../shared/ids.js';
import type { Application } from './application.js';
import type { ApiTokenService } from './api-tokens.js';
import type { BindingService } from './bindings.js';
import type { Caller } from './caller.js';
import type { PrincipalDirectory } from './principals.js';
import type { TenantService } from './tenants.js';
import { TenantWideReads } from './tenant-wide-reads.js';

export interface ServiceAccountView {
  id: string;
  name: string;
  description: string | null;
  /** A disabled service account's tokens do not authenticate until it is enabled. */
  disabled: boolean;
  /** Events in its stream: what expectedRevision is compared with. */
  revision: number;
  createdAt: string;
  createdBy: string;
  updatedAt: string | null;
}

export interface CreateServiceAccountInput {
  id: string;
  name?: string | null;
  description?: string | null;
}

export const serviceAccountStream = (tenantId: string, id: string): string => streamName(tenantId, 'service-account', id);

const toView = (doc: ServiceAccountDocument): ServiceAccountView => ({
  id: doc.id,
  name: doc.name,
  description: doc.description,
  disabled: doc.disabled === true,
  revision: doc.revision,
  createdAt: doc.createdAt,
  createdBy: doc.createdBy,
  updatedAt: doc.updatedAt ?? null,
});

type WithoutMetadata<T> = T extends unknown ? Omit<T, 'metadata'> : never;

/** Service accounts of a tenant; they act through API tokens (ApiTokenService). */
export class ServiceAccountService {
  private readonly reads: TenantWideReads<ServiceAccountDocument, ServiceAccountView>;

  constructor(
    private readonly app: Pick<Application, 'commands' | 'deletedBefore' | 'execute'>,
    private readonly tenants: TenantService,
    private readonly principals: PrincipalDirectory,
    private readonly bindings: BindingService,
    private readonly apiTokens: ApiTokenService,
  ) {
    this.reads = new TenantWideReads(tenants, 'SERVICE_ACCOUNT', (tenantId) => principals.serviceAccounts(tenantId), toView);
  }

  list(caller: Caller, tenantId: string): Promise<ServiceAccountView[]> {
    return this.reads.list(caller, tenantId);
  }

  get(caller: Caller, tenantId: string, id: string): Promise<ServiceAccountView | null> {
    return this.reads.get(caller, tenantId, id);
  }

  async create(caller: Caller, tenantId: string, input: CreateServiceAccountInput) {
    (await this.tenants.enter(caller, tenantId)).require('SERVICE_ACCOUNT', 'CREATE');
    const id = validateId('name', 'id', input.id);
    return this.run(caller, tenantId, id, { type: 'CreateServiceAccount', data: { id, name: input.name, description: input.description } });
  }

  /** SERVICE_ACCOUNT:UPDATE: the display name and the description (null clears it). */
  async update(caller: Caller, tenantId: string, id: string, patch: NamedEntityPatch, expectedRevision?: number | null) {
    (await this.tenants.enter(caller, tenantId)).require('SERVICE_ACCOUNT', 'UPDATE');
    validateId('name', 'id', id);
    return this.run(caller, tenantId, id, { type: 'UpdateServiceAccount', data: { id, patch } }, expectedRevision);
  }

  /**
   * SERVICE_ACCOUNT:UPDATE. Its tokens stop authenticating at once (the
   * verifier refuses a disabled service account) and its live sessions end
   * at the next session check; tokens and bindings stay for when it is enabled.
   */
  async disable(caller: Caller, tenantId: string, id: string, expectedRevision?: number | null) {
    (await this.tenants.enter(caller, tenantId)).require('SERVICE_ACCOUNT', 'UPDATE');
    validateId('name', 'id', id);
    return this.run(caller, tenantId, id, { type: 'DisableServiceAccount', data: { id } }, expectedRevision);
  }

  /**
   * SERVICE_ACCOUNT:UPDATE. Its tokens act with its bindings' rights again,
   * so, as for creating those bindings, BINDING:CREATE and every right they
   * grant (or BINDING:ESCALATE; see escalation.ts).
   */
  async enable(caller: Caller, tenantId: string, id: string, expectedRevision?: number | null) {
    const access = await this.tenants.enter(caller, tenantId);
    access.require('SERVICE_ACCOUNT', 'UPDATE');
    validateId('name', 'id', id);
    await this.bindings.requireMayRegrant(access, tenantId, 'SERVICE_ACCOUNT', id, `enabling service account ${id}`);
    return this.run(caller, tenantId, id, { type: 'EnableServiceAccount', data: { id } }, expectedRevision);
  }

  private async run(
    caller: Caller,
    tenantId: string,
    id: string,
    command: WithoutMetadata<ServiceAccountCommand>,
    expectedRevision?: number | null,
  ) {
    const metadata = caller.commandMetadata(tenantId);
    const result = await this.app.execute(
      serviceAccountDecider,
      serviceAccountStream(tenantId, id),
      { ...command, metadata },
      { expectedRevision },
    );
    caller.invalidateAccess();
    // Who created it is in the read model (unless this command did: it may not be applied yet).
    const doc = await this.principals.serviceAccounts(tenantId).findOne({ _id: docId(tenantId, id) });
    const created = { at: doc?.createdAt ?? result.loaded.createdAt ?? metadata.now, by: doc?.createdBy ?? metadata.actor.id };
    return { serviceAccount: view(result.state, result.revision, created, result.loaded.lastAt), position: result.position };
  }

  /**
   * SERVICE_ACCOUNT:DELETE, and BINDING:DELETE when bindings name it. Its
   * tokens are revoked and its bindings deleted, each by its own command
   * (its own audit entry), then the account; a stale expectedRevision, or a
   * missing right, is refused before anything is written. Its tokens stop
   * authenticating at once, open sessions end with them, and its id is never
   * used again.
   */
  async delete(caller: Caller, tenantId: string, id: string, expectedRevision?: number | null) {
    const access = await this.tenants.enter(caller, tenantId);
    access.require('SERVICE_ACCOUNT', 'DELETE');
    validateId('name', 'id', id);
    const stream = serviceAccountStream(tenantId, id);
    const earlier = await this.app.deletedBefore(stream, caller.deletionMetadata(tenantId, stream));
    if (earlier !== null) return { deleted: true, position: earlier };
    const current = await this.app.commands.load(serviceAccountDecider, stream);
    if (current.state.status !== 'active') throw notFound(`service account ${id}`);
    if (expectedRevision != null && expectedRevision !== current.revision) {
      throw conflict(`${stream} is at revision ${current.revision}, not ${expectedRevision}`, current.revision);
    }
    if ((await this.bindings.boundTo(tenantId, 'SERVICE_ACCOUNT', id)).length > 0) access.require('BINDING', 'DELETE');
    await this.apiTokens.revokeAllOf(caller, tenantId, 'SERVICE_ACCOUNT', id);
    await this.bindings.deleteAllOf(caller, tenantId, 'SERVICE_ACCOUNT', id);
    const result = await this.app.execute(
      serviceAccountDecider,
      stream,
      { type: 'DeleteServiceAccount', data: { id }, metadata: caller.deletionMetadata(tenantId, stream) },
      { expectedRevision },
    );
    caller.invalidateAccess();
    return { deleted: true, position: result.position };
  }
}

function view(
  state: ServiceAccountState,
  revision: number,
  created: { at: string; by: string },
  updatedAt: string | null,
): ServiceAccountView {
  if (state.status !== 'active') throw notFound('service account');
  const { id, name, description, disabled } = state;
  return { id, name, description, disabled, revision, createdAt: created.at, createdBy: created.by, updatedAt };
}
