import type { Projection } from './runtime/projection.js';
import { physicalName, targetFor } from './runtime/aliases.js';
import type { Collection, Document, DocumentStore } from '../readmodels/port.js';
import { tenantScoped, type TenantCollection } from '../readmodels/tenant-scoped.js';

/**
 * The query side's view of the read models: logical collection names
 * (`namespaces`) resolve to the physical collection of the live projection
 * version (`namespaces_v1`).
 */
export class ReadModels {
  private readonly owners = new Map<string, Projection>();
  /** Which generation serves each projection; the projection coordinator answers once it runs. */
  private servingTarget: (projectionName: string) => string = (name) => {
    const projection = [...this.owners.values()].find((p) => p.name === name);
    return targetFor(projection?.version ?? 1);
  };

  constructor(
    readonly store: DocumentStore,
    projections: readonly Projection[],
  ) {
    for (const projection of projections) {
      for (const name of Object.keys(projection.collections)) this.owners.set(name, projection);
    }
  }

  /**
   * Unscoped access: instance-level read models (tenants, users) and
   * instance-admin code paths only. Tenant code uses `forTenant`.
   */
  instanceCollection<T extends Document = Document>(logicalName: string): Collection<T> {
    return this.store.collection<T>(this.physicalName(logicalName));
  }

  /**
   * The one entry point for tenant code: the live collection behind
   * `logicalName`, pinned to one tenant (every filter, write and index scan
   * gets `tenantId`; a document of another tenant can be neither read nor
   * written through it; src/readmodels/tenant-scoped.ts).
   */
  forTenant<T extends Document = Document>(logicalName: string, tenantId: string): TenantCollection<T> {
    return tenantScoped(this.instanceCollection<T>(logicalName), tenantId);
  }

  resolveTargetsWith(servingTarget: (projectionName: string) => string): void {
    this.servingTarget = servingTarget;
  }

  physicalName(logicalName: string): string {
    const owner = this.owners.get(logicalName);
    if (!owner) throw new Error(`no projection owns the read model ${logicalName}`);
    return physicalName(logicalName, this.servingTarget(owner.name));
  }
}
