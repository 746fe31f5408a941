import type { Resource } from '../auth/permissions.js';
import { docId, type ReadModelDocument } from '../projections/runtime/projection.js';
import type { TenantCollection } from '../readmodels/tenant-scoped.js';
import { isValidId } from '../shared/ids.js';
import type { Caller } from './caller.js';
import type { TenantService } from './tenants.js';

/**
 * The reads of a tenant-wide resource (groups, service accounts): the whole
 * list with RESOURCE:LIST, else an empty list; one by id with RESOURCE:VIEW,
 * else null, as if it did not exist.
 */
export class TenantWideReads<D extends ReadModelDocument, V> {
  constructor(
    private readonly tenants: TenantService,
    private readonly resource: Resource,
    private readonly collection: (tenantId: string) => TenantCollection<D>,
    private readonly view: (doc: D) => V,
  ) {}

  async list(caller: Caller, tenantId: string): Promise<V[]> {
    const access = await this.tenants.enter(caller, tenantId);
    if (!access.scope(this.resource, 'LIST').all) return [];
    return (await this.collection(tenantId).find({}, { sort: { id: 1 } })).map(this.view);
  }

  async get(caller: Caller, tenantId: string, id: string): Promise<V | null> {
    const access = await this.tenants.enter(caller, tenantId);
    if (!access.can(this.resource, 'VIEW') || !isValidId('name', id)) return null;
    const doc = await this.collection(tenantId).findOne({ _id: docId(tenantId, id) });
    return doc ? this.view(doc) : null;
  }
}
