import {
  namespaceDecider,
  type NamespaceEntryChange,
  type NamespacePatch,
  type NamespaceState,
  type PluginDefault,
} from '../aggregates/namespace/namespace.js';
import type { DefaultAuthentication } from '../aggregates/namespace/default-authentication.js';
import { modeOfList, type AllowedNamespacesMode } from '../aggregates/namespace/allowed-namespaces.js';
import { namespaceScopeFilter } from '../auth/authorizer.js';
import { streamName } from '../eventstore/port.js';
import { NAMESPACES, type NamespaceDocument } from '../projections/namespaces/namespaces.projection.js';

export type { NamespaceDocument };
import { docId } from '../projections/runtime/projection.js';
import type { TenantCollection } from '../readmodels/tenant-scoped.js';
import { badInput, conflict, notFound } from '../shared/errors.js';
import { escapeRegex, isValidId, validateId } from '../shared/ids.js';
import type { JsonObject } from '../shared/json.js';
import type { Slicer } from '../shared/slices.js';
import type { Application } from './application.js';
import { readModelOrNull } from '../readmodels/log-fallback.js';
import type { Caller } from './caller.js';
import type { TenantService } from './tenants.js';

export interface NamespaceView {
  tenantId: string;
  id: string;
  existing: boolean;
  description: string | null;
  variables: JsonObject;
  pluginDefaults: PluginDefault[];
  allowedNamespaces: string[];
  allowedNamespacesMode: AllowedNamespacesMode;
  /** Its own default authentications (inherited ones: resolve along the lineage, nearest first). */
  defaultAuthentications: DefaultAuthentication[];
  revision: number;
  createdAt: string | null;
  updatedAt: string | null;
  flowCount: number;
  secretCount: number;
}

export const namespaceStream = (tenantId: string, id: string): string => streamName(tenantId, 'namespace', id);

export function namespaceView(doc: NamespaceDocument): NamespaceView {
  return {
    tenantId: doc.tenantId,
    id: doc.id,
    existing: doc.existing,
    description: doc.description,
    variables: JSON.parse(doc.variablesJson) as JsonObject,
    pluginDefaults: doc.pluginDefaults.map((p) => ({ type: p.type, forced: p.forced, values: JSON.parse(p.valuesJson) as JsonObject })),
    allowedNamespaces: doc.allowedNamespaces,
    allowedNamespacesMode: doc.allowedNamespacesMode ?? modeOfList(doc.allowedNamespaces),
    defaultAuthentications: doc.defaultAuthentications ?? [],
    revision: doc.revision,
    createdAt: doc.createdAt,
    updatedAt: doc.updatedAt,
    flowCount: doc.flowCount,
    secretCount: doc.secretCount,
  };
}

function fromState(tenantId: string, state: NamespaceState, revision: number, doc: NamespaceDocument | null): NamespaceView {
  if (state.status === 'absent') throw notFound('namespace');
  const active = state.status === 'active';
  return {
    tenantId,
    id: state.id,
    existing: active,
    description: active ? state.description : null,
    variables: active ? state.variables : {},
    pluginDefaults: active ? state.pluginDefaults : [],
    allowedNamespaces: active ? state.allowedNamespaces : [],
    allowedNamespacesMode: active ? state.allowedNamespacesMode : 'ALL',
    defaultAuthentications: active ? state.defaultAuthentications : [],
    revision,
    createdAt: doc?.createdAt ?? null,
    updatedAt: doc?.updatedAt ?? null,
    flowCount: doc?.flowCount ?? 0,
    secretCount: doc?.secretCount ?? 0,
  };
}

export interface ListNamespacesOptions {
  existingOnly?: boolean | null;
  prefix?: string | null;
}

export class NamespaceService {
  constructor(
    private readonly app: Pick<Application, 'commands' | 'deletedBefore' | 'execute' | 'readModels'>,
    private readonly tenants: TenantService,
  ) {}

  /** The read-model documents of these namespaces, in the order asked (null where none), in one query: for a DataLoader. */
  async byIds(tenantId: string, ids: readonly string[]): Promise<(NamespaceDocument | null)[]> {
    const docs = await this.collection(tenantId).find({ _id: { $in: ids.map((id) => docId(tenantId, id)) } });
    const byId = new Map(docs.map((d) => [d.id, d] as const));
    return ids.map((id) => byId.get(id) ?? null);
  }

  collection(tenantId: string): TenantCollection<NamespaceDocument> {
    return this.app.readModels.forTenant<NamespaceDocument>(NAMESPACES, tenantId);
  }

  async list(caller: Caller, tenantId: string, options: ListNamespacesOptions = {}): Promise<NamespaceView[]> {
    const scope = (await this.tenants.enter(caller, tenantId)).scope('NAMESPACE', 'LIST');
    const clauses: Record<string, unknown>[] = [];
    const visible = namespaceScopeFilter('id', scope);
    if (visible) clauses.push(visible);
    if (options.existingOnly) clauses.push({ existing: true });
    if (options.prefix) clauses.push({ id: { $regex: `^${escapeRegex(options.prefix)}` } });
    const filter = clauses.length === 0 ? {} : { $and: clauses };
    return (await this.collection(tenantId).find(filter, { sort: { id: 1 } })).map(namespaceView);
  }

  async get(caller: Caller, tenantId: string, id: string, asOf?: Date | null): Promise<NamespaceView | null> {
    const access = await this.tenants.enter(caller, tenantId);
    if (!isValidId('namespace', id)) return null;
    // Without VIEW the namespace does not exist for this caller: no hint that it does.
    if (!access.can('NAMESPACE', 'VIEW', id)) return null;
    if (asOf) return this.asOf(tenantId, id, asOf, caller.slicer());
    const doc = await this.collection(tenantId).findOne({ _id: docId(tenantId, id) });
    return doc ? namespaceView(doc) : null;
  }

  /** Time travel: the namespace's own stream up to `asOf`, from the nearest snapshot. */
  async asOf(tenantId: string, id: string, asOf: Date, slicer?: Slicer): Promise<NamespaceView | null> {
    const loaded = await this.app.commands.loadAsOf(namespaceDecider, namespaceStream(tenantId, id), asOf, { slicer });
    if (loaded.state.status !== 'active') return null;
    const view = fromState(tenantId, loaded.state, loaded.revision, null);
    return { ...view, createdAt: loaded.createdAt, updatedAt: loaded.lastAt };
  }

  async create(caller: Caller, tenantId: string, input: { id: string; description?: string | null }) {
    const access = await this.tenants.enter(caller, tenantId);
    const id = validateId('namespace', 'id', input.id);
    access.require('NAMESPACE', 'CREATE', id);
    const result = await this.app.execute(namespaceDecider, namespaceStream(tenantId, id), {
      type: 'CreateNamespace',
      data: { id, description: input.description ?? null },
      metadata: caller.commandMetadata(tenantId),
    });
    return { namespace: await this.view(tenantId, result.state, result.revision), position: result.position };
  }

  async update(caller: Caller, tenantId: string, id: string, patch: NamespacePatch, expectedRevision?: number | null) {
    const access = await this.tenants.enter(caller, tenantId);
    validateId('namespace', 'id', id);
    access.require('NAMESPACE', 'UPDATE', id);
    const result = await this.app.execute(
      namespaceDecider,
      namespaceStream(tenantId, id),
      { type: 'UpdateNamespace', data: { id, patch }, metadata: caller.commandMetadata(tenantId) },
      { expectedRevision },
    );
    return { namespace: await this.view(tenantId, result.state, result.revision), position: result.position };
  }

  /**
   * Sets or unsets one variable or one plugin default, leaving every other
   * entry as it is (the full replace is `update`). Decided against the
   * stream's current state, so two tools changing different entries at the
   * same time both keep their change.
   */
  async changeEntry(caller: Caller, tenantId: string, id: string, change: NamespaceEntryChange, expectedRevision?: number | null) {
    const access = await this.tenants.enter(caller, tenantId);
    validateId('namespace', 'id', id);
    access.require('NAMESPACE', 'UPDATE', id);
    const result = await this.app.execute(
      namespaceDecider,
      namespaceStream(tenantId, id),
      { type: 'ChangeNamespaceEntry', data: { id, change }, metadata: caller.commandMetadata(tenantId) },
      { expectedRevision },
    );
    return { namespace: await this.view(tenantId, result.state, result.revision), position: result.position };
  }

  /** Brings a deleted namespace back with the settings it had when deleted (NAMESPACE:CREATE). */
  async restore(caller: Caller, tenantId: string, id: string, expectedRevision?: number | null) {
    const access = await this.tenants.enter(caller, tenantId);
    validateId('namespace', 'id', id);
    access.require('NAMESPACE', 'CREATE', id);
    const result = await this.app.execute(
      namespaceDecider,
      namespaceStream(tenantId, id),
      { type: 'RestoreNamespace', data: { id }, metadata: caller.commandMetadata(tenantId) },
      { expectedRevision },
    );
    return { namespace: await this.view(tenantId, result.state, result.revision), position: result.position };
  }

  /**
   * Refused while the namespace still holds flows or secrets, unless `force`,
   * in which case `cascade` deletes each of them first, each as its own event.
   */
  async delete(
    caller: Caller,
    tenantId: string,
    id: string,
    force: boolean,
    cascade?: (caller: Caller, tenantId: string, namespace: string) => Promise<number>,
    expectedRevision?: number | null,
  ) {
    const access = await this.tenants.enter(caller, tenantId);
    validateId('namespace', 'id', id);
    access.require('NAMESPACE', 'DELETE', id);
    const stream = namespaceStream(tenantId, id);
    const doc = await this.collection(tenantId).findOne({ _id: docId(tenantId, id) });
    if (!doc?.existing) throw notFound(`namespace ${id}`);
    // Checked before the cascade deletes anything; the namespace's own delete checks it again.
    if (expectedRevision != null && expectedRevision !== doc.revision) {
      throw conflict(`namespace ${id} is at revision ${doc.revision}, not ${expectedRevision}`, doc.revision);
    }
    let position = 0;
    if (doc.flowCount > 0 || doc.secretCount > 0) {
      if (!force) {
        throw conflict(
          `namespace ${id} still holds ${doc.flowCount} flow(s) and ${doc.secretCount} secret(s); delete them first or pass force: true`,
        );
      }
      if (!cascade) throw badInput('force', 'this namespace holds flows or secrets that cannot be deleted here');
      // Every right the cascade needs is checked before the first deletion, so a refusal leaves nothing half-deleted.
      if (doc.flowCount > 0) access.require('FLOW', 'DELETE', id);
      if (doc.secretCount > 0) access.require('SECRET', 'DELETE', id);
      position = await cascade(caller, tenantId, id);
    }
    const result = await this.app.execute(
      namespaceDecider,
      stream,
      // Asked for now, not before the cascade: stamped with the time it is appended.
      { type: 'DeleteNamespace', data: { id }, metadata: caller.deletionMetadata(tenantId, stream) },
      { expectedRevision: position > 0 ? null : expectedRevision },
    );
    return { namespace: await this.view(tenantId, result.state, result.revision), position: Math.max(position, result.position) };
  }

  /**
   * When this request (same Idempotency-Key) already deleted the namespace,
   * the answer it gave, for a retry to answer the same; null otherwise.
   * Authorized by the caller.
   */
  async deletedBefore(caller: Caller, tenantId: string, id: string): Promise<{ namespace: NamespaceView; position: number } | null> {
    const stream = namespaceStream(tenantId, id);
    const position = await this.app.deletedBefore(stream, caller.deletionMetadata(tenantId, stream));
    if (position === null) return null;
    const { state, revision } = await this.app.commands.load(namespaceDecider, stream);
    return { namespace: await this.view(tenantId, state, revision), position };
  }

  private async view(tenantId: string, state: NamespaceState, revision: number): Promise<NamespaceView> {
    const id = state.status === 'absent' ? '' : state.id;
    const doc = await readModelOrNull(() => this.collection(tenantId).findOne({ _id: docId(tenantId, id) }));
    return fromState(tenantId, state, revision, doc);
  }
}
