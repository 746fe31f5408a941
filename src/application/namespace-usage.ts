import { decideUsage, modeOfList, type UsageDecision, type UsageTarget } from '../aggregates/namespace/allowed-namespaces.js';
import { flowPlugins, namespaceReferences, type NamespaceReference } from '../aggregates/flow/flow-plugins.js';
import { parseFlowDocumentAsync } from '../aggregates/flow/flow-source.async.js';
import { docId } from '../projections/runtime/projection.js';
import { badInput } from '../shared/errors.js';
import { isValidId } from '../shared/ids.js';
import type { Caller } from './caller.js';
import { namespaceView, type NamespaceService, type NamespaceView } from './namespaces.js';
import type { TenantService } from './tenants.js';

/**
 * Allowed namespaces that hold: "may namespace A use namespace B", with the
 * rule that decided, and the check of a flow's references to other
 * namespaces when it is saved.
 */

export interface UsageAnswer extends UsageDecision {
  from: string;
  to: string;
  /** Revision of the target namespace whose setting decided (null: it has no settings). */
  revision: number | null;
}

export interface CheckedReference extends NamespaceReference, UsageDecision {
  revision: number | null;
}

/** A source names another namespace only if `namespace:` appears more than once (the flow's own is one). */
const mayReferenceOthers = (source: string): boolean => (source.match(/namespace\s*:/g) ?? []).length > 1;

export function usageTarget(view: NamespaceView | null): UsageTarget | null {
  return view
    ? {
        id: view.id,
        existing: view.existing,
        allowedNamespaces: view.allowedNamespaces,
        allowedNamespacesMode: view.allowedNamespacesMode ?? modeOfList(view.allowedNamespaces),
      }
    : null;
}

export class NamespaceUsageService {
  constructor(
    private readonly tenants: TenantService,
    private readonly namespaces: NamespaceService,
  ) {}

  private async targets(tenantId: string, ids: readonly string[]): Promise<Map<string, NamespaceView>> {
    if (ids.length === 0) return new Map();
    const docs = await this.namespaces.collection(tenantId).find({ _id: { $in: [...new Set(ids)].map((id) => docId(tenantId, id)) } });
    return new Map(docs.map((d) => [d.id, namespaceView(d)]));
  }

  /** Null when the caller may not view the target namespace (its settings decide). */
  async decide(caller: Caller, tenantId: string, from: string, to: string): Promise<UsageAnswer | null> {
    const access = await this.tenants.enter(caller, tenantId);
    for (const [field, id] of [
      ['from', from],
      ['to', to],
    ] as const) {
      if (!isValidId('namespace', id)) throw badInput(field, `${field} must be a namespace`);
    }
    if (!access.can('NAMESPACE', 'VIEW', to)) return null;
    const target = (await this.targets(tenantId, [to])).get(to) ?? null;
    const decision = decideUsage(
      from,
      usageTarget(target) ?? { id: to, existing: false, allowedNamespaces: [], allowedNamespacesMode: 'ALL' },
    );
    return { from, to, ...decision, revision: target?.existing ? target.revision : null };
  }

  /** Each reference of a flow's tasks and triggers to another namespace, decided by that namespace's setting now. */
  async checkReferences(tenantId: string, namespace: string, document: Record<string, unknown>): Promise<CheckedReference[]> {
    const references = namespaceReferences(namespace, flowPlugins(document));
    const targets = await this.targets(
      tenantId,
      references.map((r) => r.namespace),
    );
    return references.map((ref) => {
      const target = targets.get(ref.namespace) ?? null;
      return { ...ref, ...decideUsage(namespace, usageTarget(target)), revision: target?.existing ? target.revision : null };
    });
  }

  /** Refuses a flow source whose tasks or triggers use a namespace that does not allow the flow's namespace. */
  async requireAllowed(tenantId: string, namespace: string, source: string): Promise<void> {
    if (!mayReferenceOthers(source)) return;
    const { document } = await parseFlowDocumentAsync(source);
    const refused = (await this.checkReferences(tenantId, namespace, document)).filter((r) => !r.allowed);
    const [first] = refused;
    if (!first) return;
    const list = refused.map((r) => `${r.path} uses ${r.namespace} (${r.rule})`).join('; ');
    throw badInput('source', `namespace ${namespace} is not allowed to use: ${list}`, {
      path: first.path,
      reason: 'NAMESPACE_NOT_ALLOWED',
      references: refused.map((r) => ({ path: r.path, namespace: r.namespace, rule: r.rule })),
    });
  }
}
