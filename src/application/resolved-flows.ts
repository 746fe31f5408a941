import { decideUsage } from '../aggregates/namespace/allowed-namespaces.js';
import { validatePluginDefaults } from '../aggregates/namespace/namespace.js';
import { documentReferences, type ExpressionReference } from '../aggregates/flow/flow-expressions.js';
import { flowPlugins, namespaceReferences, type FlowPlugin, type NamespaceReference } from '../aggregates/flow/flow-plugins.js';
import { parseFlowDocumentAsync } from '../aggregates/flow/flow-source.async.js';
import {
  applyPluginDefaults,
  typeMatches,
  type AppliedDefault,
  type DefaultLevel,
  type PropertySource,
} from '../aggregates/plugin-defaults.js';
import { secretDecider } from '../aggregates/secret/secret.js';
import { serviceAccountDecider } from '../aggregates/service-account/service-account.js';
import { docId } from '../projections/runtime/projection.js';
import { DomainError, ErrorCode, forbidden } from '../shared/errors.js';
import { namespaceLineage } from '../shared/ids.js';
import type { JsonValue } from '../shared/json.js';
import type { Application } from './application.js';
import type { Caller } from './caller.js';
import { inheritedDefaultAuthentications, type InheritedDefaultAuthentication } from './default-authentications.js';
import type { FlowService } from './flows.js';
import { usageTarget } from './namespace-usage.js';
import { namespaceView, type NamespaceService, type NamespaceView } from './namespaces.js';
import type { PrincipalDirectory } from './principals.js';
import { secretStream, type SecretService } from './secrets.js';
import { serviceAccountStream } from './service-accounts.js';
import type { TenantService } from './tenants.js';

/**
 * What a flow would run with, before it runs: per task and trigger the plugin
 * defaults applied as Kestra applies them, the namespace variables it sees,
 * every secret and namespace-variable reference of its expressions checked
 * (secret metadata only, never a value), its references to other namespaces
 * checked against their allowed namespaces, and the revision of every
 * governance object read, so that the answer can be reproduced (`revision`,
 * `asOf`). `validate` does the same for a source that is not saved.
 */

export interface ResolvedPlugin extends FlowPlugin {
  pluginDefaults: AppliedDefault[];
  propertySources: PropertySource[];
  /** The namespace default authentication its type falls under (nearest namespace first), or null. */
  defaultAuthentication: AppliedAuthentication | null;
}

/** FOUND; MISSING; NOT_VISIBLE: the caller may not look (SECRET:LIST somewhere on the lineage, SERVICE_ACCOUNT:VIEW). */
export type ReferenceStatus = 'FOUND' | 'MISSING' | 'NOT_VISIBLE';

export interface CheckedSecretRef {
  field: string;
  key: string;
  status: ReferenceStatus;
  /** Where the secret was found (nearest to the flow's namespace). */
  namespace: string | null;
  /** The secret's version. */
  revision: number | null;
}

export interface AppliedAuthentication extends Omit<InheritedDefaultAuthentication, 'secretRefs'> {
  /** FOUND, MISSING (deleted or never created), DISABLED or NOT_VISIBLE; null when it names no service account. */
  serviceAccountStatus: ReferenceStatus | 'DISABLED' | null;
  secretRefs: CheckedSecretRef[];
}

/** The entry with the longest plugin type prefix that the plugin's type falls under. */
function authenticationFor(type: string, inherited: readonly InheritedDefaultAuthentication[]): InheritedDefaultAuthentication | null {
  let best: InheritedDefaultAuthentication | null = null;
  for (const auth of inherited) {
    if (typeMatches(auth.pluginType, type) && (!best || auth.pluginType.length > best.pluginType.length)) best = auth;
  }
  return best;
}

export interface GovernanceRevision {
  kind: 'FLOW' | 'NAMESPACE' | 'SECRET';
  id: string;
  revision: number;
}

export interface FlowProblem {
  code: string;
  message: string;
  path: string | null;
}

export interface VisibleVariable {
  key: string;
  value: JsonValue;
  namespace: string;
}

export interface CheckedExpressionReference extends ExpressionReference {
  /** FOUND; MISSING; NOT_VISIBLE: not found where the caller may look, and the caller may not list secrets in some of the namespaces. */
  status: 'FOUND' | 'MISSING' | 'NOT_VISIBLE';
  /** Where it was found. */
  namespace: string | null;
  /** The secret's version, or the revision of the namespace that set the variable. */
  revision: number | null;
}

export interface CheckedNamespaceReference extends NamespaceReference {
  allowed: boolean;
  rule: string;
  revision: number | null;
}

export interface ResolvedFlowView {
  tenantId: string;
  namespace: string;
  id: string;
  /** Null for a source that is not saved (validateFlow). */
  revision: number | null;
  asOf: string | null;
  plugins: ResolvedPlugin[];
  variables: VisibleVariable[];
  references: CheckedExpressionReference[];
  namespaceReferences: CheckedNamespaceReference[];
  /** The flow and every governance object read, at the revision read. */
  used: GovernanceRevision[];
  problems: FlowProblem[];
}

export interface FlowValidation {
  valid: boolean;
  problems: FlowProblem[];
  resolved: ResolvedFlowView | null;
}

interface Unresolved {
  namespace: string;
  id: string;
  revision: number | null;
  document: Record<string, unknown>;
}

/** How deep render(namespace.x) is followed into variables that hold expressions themselves. */
const MAX_RENDER_DEPTH = 3;

function lookup(value: JsonValue | undefined, path: string[]): boolean {
  let at: JsonValue | undefined = value;
  for (const segment of path) {
    if (at === null || at === undefined || typeof at !== 'object' || Array.isArray(at) || !Object.hasOwn(at, segment)) return false;
    at = at[segment];
  }
  return true;
}

export class ResolvedFlowService {
  constructor(
    private readonly app: Pick<Application, 'commands'>,
    private readonly tenants: TenantService,
    private readonly flows: FlowService,
    private readonly namespaces: NamespaceService,
    private readonly secrets: SecretService,
    private readonly principals: PrincipalDirectory,
  ) {}

  /** Whether a service account exists (and is enabled), now or at `asOf`. */
  private async serviceAccountStatus(
    caller: Caller,
    tenantId: string,
    id: string,
    asOf: Date | null,
  ): Promise<'FOUND' | 'MISSING' | 'DISABLED'> {
    if (asOf) {
      const { state } = await this.app.commands.loadAsOf(serviceAccountDecider, serviceAccountStream(tenantId, id), asOf, {
        slicer: caller.slicer(),
      });
      if (state.status !== 'active') return 'MISSING';
      return state.disabled ? 'DISABLED' : 'FOUND';
    }
    const doc = await this.principals.serviceAccounts(tenantId).findOne({ _id: docId(tenantId, id) });
    if (!doc) return 'MISSING';
    return doc.disabled === true ? 'DISABLED' : 'FOUND';
  }

  /** The namespaces of `ids` that exist: as they are now, or as they were at `asOf`. */
  private async namespacesAt(caller: Caller, tenantId: string, ids: string[], asOf: Date | null): Promise<Map<string, NamespaceView>> {
    if (ids.length === 0) return new Map();
    if (asOf) {
      const views = await Promise.all(ids.map((id) => this.namespaces.asOf(tenantId, id, asOf, caller.slicer())));
      return new Map(views.filter((v): v is NamespaceView => v !== null && v.existing).map((v) => [v.id, v]));
    }
    const docs = await this.namespaces.collection(tenantId).find({ _id: { $in: ids.map((id) => docId(tenantId, id)) } });
    return new Map(docs.filter((d) => d.existing).map((d) => [d.id, namespaceView(d)]));
  }

  /** The nearest secret of each key along the lineage the caller may list: [namespace, version]. */
  private async secretsAt(
    caller: Caller,
    tenantId: string,
    lineage: string[],
    keys: string[],
    asOf: Date | null,
  ): Promise<Map<string, [string, number]>> {
    const found = new Map<string, [string, number]>();
    if (keys.length === 0 || lineage.length === 0) return found;
    if (asOf) {
      for (const namespace of lineage) {
        for (const key of keys) {
          const { state } = await this.app.commands.loadAsOf(secretDecider, secretStream(tenantId, namespace, key), asOf, {
            slicer: caller.slicer(),
          });
          if (state.status === 'active') found.set(key, [namespace, state.version]);
        }
      }
      return found;
    }
    const docs = await this.secrets.collection(tenantId).find({ namespace: { $in: lineage }, key: { $in: keys } });
    const depth = (ns: string) => ns.split('.').length;
    for (const doc of [...docs].sort((a, b) => depth(a.namespace) - depth(b.namespace))) found.set(doc.key, [doc.namespace, doc.version]);
    return found;
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
    const { document } = await parseFlowDocumentAsync(await this.flows.sourceOf(flow));
    return this.resolve(caller, tenantId, { namespace, id, revision: flow.revision, document }, at.asOf ?? null);
  }

  /** Checks a source without saving it: needs FLOW:VIEW on the namespace it names. */
  async validate(caller: Caller, tenantId: string, source: string): Promise<FlowValidation> {
    const access = await this.tenants.enter(caller, tenantId);
    // The namespace is in the source, but a caller who may view flows nowhere is refused before it is parsed.
    const scope = access.scope('FLOW', 'VIEW');
    if (!scope.all && scope.namespaces.length === 0) throw forbidden('FLOW:VIEW');
    let parsed: Awaited<ReturnType<typeof parseFlowDocumentAsync>>;
    try {
      parsed = await parseFlowDocumentAsync(source);
    } catch (error) {
      // A full parser pool (RATE_LIMITED) is the server's state, not a problem of the source.
      if (!(error instanceof DomainError) || error.code !== ErrorCode.BAD_USER_INPUT) throw error;
      const path = typeof error.extensions['path'] === 'string' ? error.extensions['path'] : null;
      return { valid: false, problems: [{ code: 'INVALID_SOURCE', message: error.message, path }], resolved: null };
    }
    const { namespace, id } = parsed.definition;
    if (!access.can('FLOW', 'VIEW', namespace)) throw forbidden(`FLOW:VIEW on ${namespace}`);
    const resolved = await this.resolve(caller, tenantId, { namespace, id, revision: null, document: parsed.document }, null);
    return { valid: resolved.problems.length === 0, problems: resolved.problems, resolved };
  }

  private async resolve(caller: Caller, tenantId: string, flow: Unresolved, asOf: Date | null): Promise<ResolvedFlowView> {
    const access = await this.tenants.enter(caller, tenantId);
    const { namespace, document } = flow;
    const lineageIds = namespaceLineage(namespace);
    const plugins = flowPlugins(document);
    const nsRefs = namespaceReferences(namespace, plugins);
    const known = await this.namespacesAt(caller, tenantId, [...new Set([...lineageIds, ...nsRefs.map((r) => r.namespace)])], asOf);
    const lineage = lineageIds.flatMap((ns) => known.get(ns) ?? []);
    const problems: FlowProblem[] = [];

    // Plugin defaults.
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
    const withDefaults = plugins.map((plugin) => {
      const applied = applyPluginDefaults(plugin.type, plugin.properties, levels);
      return { ...plugin, properties: applied.properties, pluginDefaults: applied.applied, propertySources: applied.sources };
    });

    // Namespace default authentication: per plugin, the nearest entry of the provider its type falls under.
    const inheritedAuths = inheritedDefaultAuthentications(lineage);
    const authOf = new Map(withDefaults.map((plugin) => [plugin, authenticationFor(plugin.type, inheritedAuths)] as const));
    const applicable = [...new Set([...authOf.values()].filter((a): a is InheritedDefaultAuthentication => a !== null))];

    // Variables: root to leaf, the nearest wins.
    const variables = new Map<string, VisibleVariable & { revision: number }>();
    for (const ns of lineage) {
      for (const [key, value] of Object.entries(ns.variables)) variables.set(key, { key, value, namespace: ns.id, revision: ns.revision });
    }

    // Expression references, following render(namespace.x) into the variable's own expressions.
    const pending: [ExpressionReference, number][] = documentReferences(document).map((r) => [r, 0]);
    const expressionRefs: ExpressionReference[] = [];
    for (let next = pending.shift(); next; next = pending.shift()) {
      const [ref, depth] = next;
      expressionRefs.push(ref);
      if (ref.kind !== 'VARIABLE' || !ref.rendered || depth >= MAX_RENDER_DEPTH) continue;
      const [head, ...rest] = ref.name.split('.');
      const variable = variables.get(head!);
      if (!variable || !lookup(variable.value, rest)) continue;
      let value: JsonValue = variable.value;
      for (const segment of rest) value = (value as Record<string, JsonValue>)[segment]!;
      for (const inner of documentReferences(value)) {
        pending.push([{ ...inner, path: `${ref.path} → namespace.${ref.name}${inner.path ? `.${inner.path}` : ''}` }, depth + 1]);
      }
    }
    const authKeys = applicable.flatMap((a) => Object.values(a.secretRefs));
    const secretKeys = [...new Set([...expressionRefs.filter((r) => r.kind === 'SECRET').map((r) => r.name), ...authKeys])];
    const listable = lineageIds.filter((ns) => access.can('SECRET', 'LIST', ns));
    const secrets = await this.secretsAt(caller, tenantId, listable, secretKeys, asOf);
    const references = expressionRefs.map((ref): CheckedExpressionReference => {
      if (ref.kind === 'SECRET') {
        const found = secrets.get(ref.name);
        if (found) return { ...ref, status: 'FOUND', namespace: found[0], revision: found[1] };
        const status = listable.length < lineageIds.length ? 'NOT_VISIBLE' : 'MISSING';
        if (status === 'MISSING') {
          problems.push({
            code: 'MISSING_SECRET',
            message: `secret ${ref.name} is not set in ${namespace} nor in any namespace above it`,
            path: ref.path,
          });
        }
        return { ...ref, status, namespace: null, revision: null };
      }
      const [head, ...rest] = ref.name.split('.');
      const variable = variables.get(head!);
      if (variable && lookup(variable.value, rest)) {
        return { ...ref, status: 'FOUND', namespace: variable.namespace, revision: variable.revision };
      }
      problems.push({
        code: 'UNKNOWN_VARIABLE',
        message: `namespace.${ref.name} is not a variable of ${namespace} nor of any namespace above it`,
        path: ref.path,
      });
      return { ...ref, status: 'MISSING', namespace: null, revision: null };
    });

    const accounts = new Map<string, AppliedAuthentication['serviceAccountStatus']>();
    for (const account of new Set(applicable.flatMap((a) => (a.serviceAccountId === null ? [] : [a.serviceAccountId])))) {
      accounts.set(
        account,
        access.can('SERVICE_ACCOUNT', 'VIEW') ? await this.serviceAccountStatus(caller, tenantId, account, asOf) : 'NOT_VISIBLE',
      );
    }
    const resolvedPlugins: ResolvedPlugin[] = withDefaults.map((plugin) => {
      const auth = authOf.get(plugin) ?? null;
      if (!auth) return { ...plugin, defaultAuthentication: null };
      const where = `${auth.provider} default authentication of ${auth.namespace}`;
      const serviceAccountStatus = auth.serviceAccountId === null ? null : (accounts.get(auth.serviceAccountId) ?? null);
      if (serviceAccountStatus === 'MISSING' || serviceAccountStatus === 'DISABLED') {
        problems.push({
          code: serviceAccountStatus === 'MISSING' ? 'MISSING_SERVICE_ACCOUNT' : 'DISABLED_SERVICE_ACCOUNT',
          message: `the ${where} names service account ${auth.serviceAccountId ?? ''}, which is ${serviceAccountStatus === 'MISSING' ? 'deleted or was never created' : 'disabled'}`,
          path: plugin.path,
        });
      }
      const secretRefs = Object.entries(auth.secretRefs).map(([field, key]): CheckedSecretRef => {
        const found = secrets.get(key);
        if (found) return { field, key, status: 'FOUND', namespace: found[0], revision: found[1] };
        const status = listable.length < lineageIds.length ? 'NOT_VISIBLE' : 'MISSING';
        if (status === 'MISSING') {
          problems.push({
            code: 'MISSING_AUTHENTICATION_SECRET',
            message: `the ${where} takes ${field} from secret ${key}, which is not set in ${namespace} nor in any namespace above it`,
            path: plugin.path,
          });
        }
        return { field, key, status, namespace: null, revision: null };
      });
      return { ...plugin, defaultAuthentication: { ...auth, serviceAccountStatus, secretRefs } };
    });

    // References to other namespaces.
    const namespaceRefs = nsRefs.map((ref): CheckedNamespaceReference => {
      const target = known.get(ref.namespace) ?? null;
      const decision = decideUsage(namespace, usageTarget(target));
      if (!decision.allowed) {
        problems.push({
          code: 'NAMESPACE_NOT_ALLOWED',
          message: `${namespace} may not use ${ref.namespace} (${decision.rule})`,
          path: ref.path,
        });
      }
      return { ...ref, ...decision, revision: target?.revision ?? null };
    });

    const used: GovernanceRevision[] = [];
    if (flow.revision !== null) used.push({ kind: 'FLOW', id: `${namespace}.${flow.id}`, revision: flow.revision });
    for (const ns of known.values()) used.push({ kind: 'NAMESPACE', id: ns.id, revision: ns.revision });
    for (const [key, [ns, version]] of secrets) used.push({ kind: 'SECRET', id: `${ns}/${key}`, revision: version });

    return {
      tenantId,
      namespace,
      id: flow.id,
      revision: flow.revision,
      asOf: asOf?.toISOString() ?? null,
      plugins: resolvedPlugins,
      variables: [...variables.values()]
        .map(({ key, value, namespace: ns }) => ({ key, value, namespace: ns }))
        .sort((a, b) => a.key.localeCompare(b.key)),
      references,
      namespaceReferences: namespaceRefs,
      used: used.sort((a, b) => a.kind.localeCompare(b.kind) || a.id.localeCompare(b.id)),
      problems,
    };
  }
}
