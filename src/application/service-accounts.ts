import { serviceAccountDecider } from '../aggregates/service-account/service-account.js';
import { streamName } from '../eventstore/port.js';
import type { ServiceAccountDocument } from '../projections/service-accounts/service-accounts.projection.js';
import { notFound } from '../shared/errors.js';
import { validateId } from '../shared/ids.js';
import type { Application } from './application.js';
import type { Caller } from './caller.js';
import type { PrincipalDirectory } from './principals.js';
import type { TenantService } from './tenants.js';
import { TenantWideReads } from './tenant-wide-reads.js';

export interface ServiceAccountView {
  id: string;
  name: string;
  description: string | null;
  createdAt: string;
  createdBy: string;
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
  createdAt: doc.createdAt,
  createdBy: doc.createdBy,
});

/** Service accounts of a tenant; they act through API tokens (ApiTokenService). */
export class ServiceAccountService {
  private readonly reads: TenantWideReads<ServiceAccountDocument, ServiceAccountView>;

  constructor(
    private readonly app: Application,
    private readonly tenants: TenantService,
    private readonly principals: PrincipalDirectory,
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
    const metadata = caller.commandMetadata(tenantId);
    const result = await this.app.execute(serviceAccountDecider, serviceAccountStream(tenantId, id), {
      type: 'CreateServiceAccount',
      data: { id, name: input.name, description: input.description },
      metadata,
    });
    if (result.state.status === 'absent') throw notFound('service account');
    const { name, description } = result.state;
    const first = result.events[0]?.metadata;
    return {
      serviceAccount: {
        id,
        name,
        description,
        createdAt: first?.occurredAt ?? metadata.now,
        createdBy: first?.actor.id ?? metadata.actor.id,
      },
      position: result.position,
    };
  }

  /**
   * SERVICE_ACCOUNT:DELETE. Its tokens stop authenticating at once (the
   * verifier finds no service account), open sessions end with them, and
   * its id is never used again, so neither its tokens nor its bindings
   * (which stay, granting nothing, until deleted) can come back.
   */
  async delete(caller: Caller, tenantId: string, id: string) {
    (await this.tenants.enter(caller, tenantId)).require('SERVICE_ACCOUNT', 'DELETE');
    validateId('name', 'id', id);
    const result = await this.app.execute(serviceAccountDecider, serviceAccountStream(tenantId, id), {
      type: 'DeleteServiceAccount',
      data: { id },
      metadata: caller.commandMetadata(tenantId),
    });
    caller.invalidateAccess();
    return { deleted: true, position: result.position };
  }
}
