import { badInput, conflict, notFound } from '../shared/errors.js';
import { escapeRegex, validateId } from '../shared/ids.js';
import type { BindingService } from './bindings.js';
import type { Caller } from './caller.js';
import type { FlowService } from './flows.js';
import type { NamespaceService, NamespaceView } from './namespaces.js';
import type { SecretService } from './secrets.js';
import type { TenantService } from './tenants.js';

/**
 * deleteNamespace as a plan that can be shown before it is carried out (the
 * dry run) and then carried out exactly: the namespace, with `includeChildren`
 * every namespace below it (deepest first), and with `force` what they hold:
 * flows, secrets and the bindings scoped to them.
 */

export interface DeletionOptions {
  force: boolean;
  includeChildren: boolean;
  expectedRevision?: number | null;
}

export interface DeletionPlan {
  /** Deepest first, the requested namespace last; placeholders (existing: false) only hold flows or secrets. */
  namespaces: { id: string; existing: boolean; revision: number }[];
  flows: { namespace: string; id: string; revision: number }[];
  secrets: { namespace: string; key: string; version: number }[];
  bindings: { id: string; principalType: string; principalId: string; roleId: string; namespace: string }[];
  /** Why this call would be refused (it deletes nothing then), or null. */
  refusal: string | null;
}

const depth = (ns: string): number => ns.split('.').length;

export class NamespaceDeletionService {
  constructor(
    private readonly tenants: TenantService,
    private readonly namespaces: NamespaceService,
    private readonly flows: FlowService,
    private readonly secrets: SecretService,
    private readonly bindings: BindingService,
    private readonly cascade: (caller: Caller, tenantId: string, namespace: string) => Promise<number>,
  ) {}

  /** The dry run: exactly what `delete` with the same options would delete, and nothing is written. */
  async plan(caller: Caller, tenantId: string, id: string, options: DeletionOptions): Promise<DeletionPlan> {
    const access = await this.tenants.enter(caller, tenantId);
    validateId('namespace', 'id', id);
    access.require('NAMESPACE', 'DELETE', id);
    const below = { $regex: `^${escapeRegex(id)}\\.` };
    const scope = options.includeChildren ? { $or: [{ id }, { id: below }] } : { id };
    const docs = (await this.namespaces.collection(tenantId).find(scope)).sort(
      (a, b) => depth(b.id) - depth(a.id) || a.id.localeCompare(b.id),
    );
    const root = docs.find((d) => d.id === id);
    if (!root?.existing) throw notFound(`namespace ${id}`);
    const ids = docs.map((d) => d.id);
    const [flows, secrets, bindings] = await Promise.all([
      this.flows.collection(tenantId).find({ namespace: { $in: ids }, deleted: false }, { sort: { namespace: 1, id: 1 } }),
      this.secrets.collection(tenantId).find({ namespace: { $in: ids } }, { sort: { namespace: 1, key: 1 } }),
      this.bindings.collection(tenantId).find({ namespace: { $in: ids } }, { sort: { namespace: 1, id: 1 } }),
    ]);
    // Bindings do not hold a namespace back (as before); with force they go with it.
    const refusal =
      flows.length + secrets.length > 0 && !options.force
        ? `namespace ${id}${options.includeChildren ? ' and its children' : ''} still hold ${flows.length} flow(s) and ${secrets.length} secret(s); pass force: true to delete them too`
        : null;
    return {
      namespaces: docs.map((d) => ({ id: d.id, existing: d.existing, revision: d.revision })),
      flows: options.force ? flows.map((f) => ({ namespace: f.namespace, id: f.id, revision: f.revision })) : [],
      secrets: options.force ? secrets.map((s) => ({ namespace: s.namespace, key: s.key, version: s.version })) : [],
      bindings: options.force
        ? bindings.map((b) => ({
            id: b.id,
            principalType: b.principalType,
            principalId: b.principalId,
            roleId: b.roleId,
            namespace: b.namespace ?? '',
          }))
        : [],
      refusal,
    };
  }

  async delete(
    caller: Caller,
    tenantId: string,
    id: string,
    options: DeletionOptions,
  ): Promise<{ namespace: NamespaceView; position: number }> {
    // A retry (same Idempotency-Key) of a deletion that went through answers as it did; the plan would find nothing.
    (await this.tenants.enter(caller, tenantId)).require('NAMESPACE', 'DELETE', validateId('namespace', 'id', id));
    const earlier = await this.namespaces.deletedBefore(caller, tenantId, id);
    if (earlier) return earlier;
    const plan = await this.plan(caller, tenantId, id, options);
    const root = plan.namespaces.at(-1)!;
    if (options.expectedRevision != null && options.expectedRevision !== root.revision) {
      throw conflict(`namespace ${id} is at revision ${root.revision}, not ${options.expectedRevision}`, root.revision);
    }
    // Without children and bindings this is the delete as it always was.
    if (!options.includeChildren && plan.bindings.length === 0) {
      return this.namespaces.delete(caller, tenantId, id, options.force, this.cascade, options.expectedRevision);
    }
    if (plan.refusal) throw conflict(plan.refusal);
    // Every right is checked before the first deletion, so a refusal leaves nothing half-deleted.
    const access = await this.tenants.enter(caller, tenantId);
    for (const ns of plan.namespaces) {
      if (ns.existing) access.require('NAMESPACE', 'DELETE', ns.id);
      if (plan.flows.some((f) => f.namespace === ns.id)) access.require('FLOW', 'DELETE', ns.id);
      if (plan.secrets.some((s) => s.namespace === ns.id)) access.require('SECRET', 'DELETE', ns.id);
    }
    if (plan.bindings.length > 0) access.require('BINDING', 'DELETE');
    let position = 0;
    for (const binding of plan.bindings) position = Math.max(position, (await this.bindings.delete(caller, tenantId, binding.id)).position);
    let last: { namespace: NamespaceView; position: number } | null = null;
    for (const ns of plan.namespaces) {
      if (!ns.existing) {
        position = Math.max(position, await this.cascade(caller, tenantId, ns.id));
        continue;
      }
      last = await this.namespaces.delete(caller, tenantId, ns.id, options.force, this.cascade);
      position = Math.max(position, last.position);
    }
    if (!last) throw badInput('id', `namespace ${id} does not exist`);
    return { namespace: last.namespace, position };
  }
}
