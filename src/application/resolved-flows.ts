import { validatePluginDefaults } from '../aggregates/namespace/namespace.js';
import { flowPlugins, type FlowPlugin } from '../aggregates/flow/flow-plugins.js';
import { parseFlowDocument } from '../aggregates/flow/flow-source.js';
import { applyPluginDefaults, type AppliedDefault, type DefaultLevel, type PropertySource } from '../aggregates/plugin-defaults.js';
import { docId } from '../projections/runtime/projection.js';
import { DomainError } from '../shared/errors.js';
import { namespaceLineage } from '../shared/ids.js';
import type { Caller } from './caller.js';
import type { FlowService } from './flows.js';
import { namespaceView, type NamespaceService, type NamespaceView } from './namespaces.js';

/**
 * What a saved flow would run with: per task and trigger, the plugin defaults
 * of its namespaces and of the flow applied as Kestra applies them, and the
 * revision of every governance object read, so that the answer can be
 * reproduced later (`revision` or `asOf`).
 */

export interface ResolvedPlugin extends FlowPlugin {
  pluginDefaults: AppliedDefault[];
  propertySources: PropertySource[];
}

export interface GovernanceRevision {
  kind: 'FLOW' | 'NAMESPACE';
  id: string;
  revision: number;
}

export interface FlowProblem {
  code: string;
  message: string;
  path: string | null;
}

export interface ResolvedFlowView {
  tenantId: string;
  namespace: string;
  id: string;
  revision: number;
  asOf: string | null;
  plugins: ResolvedPlugin[];
  /** The flow and each existing namespace from the root down, at the revision used. */
  used: GovernanceRevision[];
  problems: FlowProblem[];
}

export class ResolvedFlowService {
  constructor(
    private readonly flows: FlowService,
    private readonly namespaces: NamespaceService,
  ) {}

  /** The namespace and its existing ancestors, root first: as they are now, or as they were at `asOf`. */
  private async lineage(caller: Caller, tenantId: string, namespace: string, asOf: Date | null): Promise<NamespaceView[]> {
    const ids = namespaceLineage(namespace);
    if (asOf) {
      const views = await Promise.all(ids.map((id) => this.namespaces.asOf(tenantId, id, asOf, caller.slicer())));
      return views.filter((v): v is NamespaceView => v !== null && v.existing);
    }
    const docs = await this.namespaces.collection(tenantId).find({ _id: { $in: ids.map((id) => docId(tenantId, id)) } });
    const byId = new Map(docs.filter((d) => d.existing).map((d) => [d.id, namespaceView(d)]));
    return ids.flatMap((id) => byId.get(id) ?? []);
  }

  async get(
    caller: Caller,
    tenantId: string,
    namespace: string,
    id: string,
    at: { revision?: number | null; asOf?: Date | null } = {},
  ): Promise<ResolvedFlowView | null> {
    const flow = await this.flows.get(caller, tenantId, namespace, id, at);
    if (!flow || flow.deleted) return null;
    const asOf = at.asOf ?? null;
    const lineage = await this.lineage(caller, tenantId, namespace, asOf);
    const { document } = parseFlowDocument(flow.source);
    const problems: FlowProblem[] = [];
    let flowDefaults: DefaultLevel['pluginDefaults'] = [];
    if (document['pluginDefaults'] !== undefined && document['pluginDefaults'] !== null) {
      try {
        flowDefaults = validatePluginDefaults(document['pluginDefaults']);
      } catch (error) {
        if (!(error instanceof DomainError)) throw error;
        problems.push({ code: 'INVALID_PLUGIN_DEFAULTS', message: `the flow's ${error.message}`, path: 'pluginDefaults' });
      }
    }
    const levels: DefaultLevel[] = [
      ...lineage.map((ns) => ({ namespace: ns.id, pluginDefaults: ns.pluginDefaults })),
      { namespace: null, pluginDefaults: flowDefaults },
    ];
    const plugins = flowPlugins(document).map((plugin) => {
      const applied = applyPluginDefaults(plugin.type, plugin.properties, levels);
      return { ...plugin, properties: applied.properties, pluginDefaults: applied.applied, propertySources: applied.sources };
    });
    return {
      tenantId,
      namespace,
      id,
      revision: flow.revision,
      asOf: asOf?.toISOString() ?? null,
      plugins,
      used: [
        { kind: 'FLOW', id: `${namespace}.${id}`, revision: flow.revision },
        ...lineage.map((ns) => ({ kind: 'NAMESPACE' as const, id: ns.id, revision: ns.revision })),
      ],
      problems,
    };
  }
}
