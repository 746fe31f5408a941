import { flowDecider, snapshotOf, type FlowCommand, type FlowSnapshot, type FlowState } from '../aggregates/flow/flow.js';
import { parseFlowSourceAsync } from '../aggregates/flow/flow-source.async.js';
import { namespaceScopeFilter } from '../auth/authorizer.js';
import type { Loaded } from '../commands/snapshots.js';
import { streamName } from '../eventstore/port.js';
import { FLOW_REVISIONS, flowRevisionDocId, type FlowRevisionDocument } from '../projections/flow-revisions/flow-revisions.projection.js';

export type { FlowRevisionDocument };
import {
  FLOWS,
  flowDocId,
  type FlowDocument,
  type FlowFields,
  type FlowRevisionEntry,
  type RecordedFlowEvent,
} from '../projections/flows/flows.projection.js';
import { docId } from '../projections/runtime/projection.js';
import type { TenantCollection } from '../readmodels/tenant-scoped.js';
import { badInput, forbidden, notFound } from '../shared/errors.js';
import { escapeRegex, isValidId, validateId } from '../shared/ids.js';
import type { Slicer } from '../shared/slices.js';
import type { Application } from './application.js';
import type { Caller } from './caller.js';
import type { NamespaceService } from './namespaces.js';
import { decodeCursor, encodeCursor, pageDirection, toPage, type Page } from './pagination.js';
import type { TenantService } from './tenants.js';

export interface FlowRevisionView extends FlowRevisionEntry {
  tenantId: string;
  namespace: string;
  flowId: string;
}

export interface FlowView extends Omit<FlowFields, 'source'> {
  tenantId: string;
  /**
   * Present when the view was built from the flow's stream (mutation answers,
   * `asOf`) or from a revision document; absent on views of the current read
   * model, which does not hold sources: `FlowService.sourceOf` loads it then
   * (`Flow.source` through the request's revision DataLoader).
   */
  source?: string;
  /**
   * Saved revisions this view can list: revisions are numbered 1, 2, … with
   * no gaps (a re-create after a delete continues the count), so this is
   * also the newest one. For `asOf` views it is the count at that time.
   */
  revisionCount: number;
}

export interface ListFlowsOptions {
  namespace?: string | null;
  includeChildren?: boolean | null;
  query?: string | null;
  first?: number | null;
  after?: string | null;
  /** Backwards: the `last` flows before `before` (or the last ones). */
  last?: number | null;
  before?: string | null;
  includeDeleted?: boolean | null;
}

/** A window of a flow's revisions (numbered 1…count, oldest first), Relay-style: after/before are revision numbers. */
export interface RevisionWindow {
  first?: number | null;
  after?: number | null;
  last?: number | null;
  before?: number | null;
}

export const DEFAULT_FLOW_PAGE = 50;
/** Large enough for a frontend's "all flows" table, small enough to bound one response. */
export const MAX_FLOW_PAGE = 500;
/** Revisions listed when neither `first` nor `last` is given: the newest ones. */
export const DEFAULT_REVISION_WINDOW = 20;
export const MAX_REVISION_WINDOW = 500;
const MAX_QUERY = 200;

export const flowStream = (tenantId: string, namespace: string, id: string): string => streamName(tenantId, 'flow', namespace, id);

/** The revision numbers a window selects among revisions 1…count, oldest first. */
export function revisionWindow(count: number, window: RevisionWindow = {}): number[] {
  for (const [field, value] of [
    ['first', window.first],
    ['last', window.last],
  ] as const) {
    if (value != null && (!Number.isInteger(value) || value < 0 || value > MAX_REVISION_WINDOW)) {
      throw badInput(field, `${field} must be an integer from 0 to ${MAX_REVISION_WINDOW}`);
    }
  }
  let low = Math.max(1, (window.after ?? 0) + 1);
  let high = Math.min(count, (window.before ?? count + 1) - 1);
  if (window.first != null) high = Math.min(high, low + window.first - 1);
  const last = window.last ?? (window.first == null ? DEFAULT_REVISION_WINDOW : null);
  if (last != null) low = Math.max(low, high - last + 1);
  const numbers: number[] = [];
  for (let r = low; r <= high; r++) numbers.push(r);
  return numbers;
}

export function revisionView(doc: FlowRevisionDocument): FlowRevisionView {
  return {
    revision: doc.revision,
    updatedAt: doc.updatedAt,
    updatedBy: doc.updatedBy,
    restoredFrom: doc.restoredFrom,
    tenantId: doc.tenantId,
    namespace: doc.namespace,
    flowId: doc.id,
  };
}

export function flowView(doc: FlowDocument): FlowView {
  return {
    tenantId: doc.tenantId,
    namespace: doc.namespace,
    id: doc.id,
    revision: doc.revision,
    ...(doc.source === undefined ? {} : { source: doc.source }),
    description: doc.description,
    disabled: doc.disabled,
    deleted: doc.deleted,
    tasks: doc.tasks,
    updatedAt: doc.updatedAt,
    updatedBy: doc.updatedBy,
    revisionCount: doc.revision,
  };
}

/** An older revision's content, seen from the flow as it is now (same history, same deleted flag). */
function olderRevisionView(current: FlowDocument, revision: FlowRevisionDocument): FlowView {
  const { source, description, disabled, tasks, updatedAt, updatedBy } = revision;
  return { ...flowView(current), revision: revision.revision, source, description, disabled, tasks, updatedAt, updatedBy };
}

/**
 * The flow as a fold of its stream leaves it: used for time travel and for
 * mutation answers, so that both come from the aggregate's own history
 * rather than from a read model that might lag.
 */
export function flowViewFromLoaded(tenantId: string, loaded: Loaded<FlowState>): FlowView | null {
  const { state } = loaded;
  if (state.status === 'absent' || loaded.lastAt === null) return null;
  const { namespace, id, current } = state;
  return {
    tenantId,
    namespace,
    id,
    revision: current.revision,
    source: current.source,
    description: current.description,
    disabled: current.disabled,
    tasks: current.tasks,
    deleted: state.status === 'deleted',
    updatedAt: loaded.lastAt,
    updatedBy: loaded.lastActorId ?? '',
    revisionCount: current.revision,
  };
}

export class FlowService {
  constructor(
    private readonly app: Pick<Application, 'commands' | 'config' | 'events' | 'execute' | 'projections' | 'readModels' | 'upcasters'>,
    private readonly tenants: TenantService,
    private readonly namespaces: NamespaceService,
    /** Checks a source's references to other namespaces against their allowed namespaces (namespace-usage.ts). */
    private readonly usage?: { requireAllowed(tenantId: string, namespace: string, source: string): Promise<void> },
  ) {}

  collection(tenantId: string): TenantCollection<FlowDocument> {
    return this.app.readModels.forTenant<FlowDocument>(FLOWS, tenantId);
  }

  revisionCollection(tenantId: string): TenantCollection<FlowRevisionDocument> {
    return this.app.readModels.forTenant<FlowRevisionDocument>(FLOW_REVISIONS, tenantId);
  }

  /** Saved revisions by `flowRevisionDocId`, in one query (the DataLoader behind `FlowRevision.source`). */
  /** The key revisionsById takes for one saved revision. */
  revisionKey(tenantId: string, namespace: string, flowId: string, revision: number): string {
    return flowRevisionDocId(tenantId, namespace, flowId, revision);
  }

  /**
   * The source of a flow view: its own, else its revision's document, else
   * (while the revisions read model lags behind the flows one) the save in
   * the flow's stream, found in O(log n) single-event reads. `revisionDoc`
   * is the revision's document when the caller already looked it up (the
   * schema does, through its DataLoader). The view must already be one the
   * caller may see: this checks no rights.
   */
  async sourceOf(flow: FlowView, revisionDoc?: FlowRevisionDocument | null): Promise<string> {
    if (flow.source !== undefined) return flow.source;
    return this.savedSource(flow.tenantId, flow.namespace, flow.id, flow.revision, revisionDoc);
  }

  /** The source of saved revision `revision` (see sourceOf); notFound when the flow never had it. */
  async savedSource(
    tenantId: string,
    namespace: string,
    id: string,
    revision: number,
    revisionDoc?: FlowRevisionDocument | null,
  ): Promise<string> {
    const doc =
      revisionDoc !== undefined
        ? revisionDoc
        : await this.revisionCollection(tenantId).findOne({ _id: flowRevisionDocId(tenantId, namespace, id, revision) });
    if (doc) return doc.source;
    const saved = await this.findSave(flowStream(tenantId, namespace, id), revision);
    if (!saved) throw notFound(`revision ${revision} of flow ${namespace}.${id}`);
    return saved.source;
  }

  async revisionsById(tenantId: string, ids: readonly string[]): Promise<(FlowRevisionDocument | null)[]> {
    const docs = await this.revisionCollection(tenantId).find({ _id: { $in: [...ids] } });
    const byId = new Map(docs.map((d) => [d._id, d] as const));
    return ids.map((id) => byId.get(id) ?? null);
  }

  /** Flows the caller may list, ordered by namespace then id, one page at a time. */
  async list(caller: Caller, tenantId: string, options: ListFlowsOptions = {}): Promise<Page<FlowView>> {
    const scope = (await this.tenants.enter(caller, tenantId)).scope('FLOW', 'LIST');
    const direction = pageDirection(options, DEFAULT_FLOW_PAGE, MAX_FLOW_PAGE);
    const size = direction.size;
    const clauses: Record<string, unknown>[] = [];
    const visible = namespaceScopeFilter('namespace', scope);
    if (visible) clauses.push(visible);
    if (!options.includeDeleted) clauses.push({ deleted: false });
    if (options.namespace != null) clauses.push(namespaceFilter(options.namespace, options.includeChildren ?? false));
    if (options.query) clauses.push(textFilter(options.query));
    const filter = clauses.length === 0 ? {} : { $and: clauses };

    const flows = this.collection(tenantId);
    const field = direction.backward ? 'before' : 'after';
    const key = direction.cursor ? decodeCursor(field, direction.cursor, 2) : null;
    const bound = key && (direction.backward ? beforeKey : afterKey)(key[0] ?? '', key[1] ?? '');
    const pageFilter = bound ? { $and: [filter, bound] } : filter;
    const order = direction.backward ? -1 : 1;
    const rows = await flows.find(pageFilter, { sort: { namespace: order, id: order }, limit: size + 1 });
    return toPage(
      rows,
      size,
      () => flows.countDocuments(filter),
      (doc) => encodeCursor([doc.namespace, doc.id]),
      flowView,
      direction,
    );
  }

  /**
   * One flow, deleted or not: its current revision, a given `revision`, or
   * the flow as it was at `asOf` (replayed from its stream). Null when it does
   * not exist or the caller may not view it (no hint either way).
   */
  async get(
    caller: Caller,
    tenantId: string,
    namespace: string,
    id: string,
    at: { revision?: number | null; asOf?: Date | null } = {},
  ): Promise<FlowView | null> {
    const access = await this.tenants.enter(caller, tenantId);
    if (!isValidId('namespace', namespace) || !isValidId('flow', id)) return null;
    if (!access.can('FLOW', 'VIEW', namespace)) return null;
    if (at.revision != null && at.asOf) throw badInput('revision', 'give either revision or asOf, not both');
    if (at.asOf) return this.asOf(tenantId, namespace, id, at.asOf, caller.slicer());
    const doc = await this.collection(tenantId).findOne({ _id: flowDocId(tenantId, namespace, id) });
    if (!doc) return null;
    if (at.revision == null || at.revision === doc.revision) return flowView(doc);
    const revision = await this.revisionCollection(tenantId).findOne({ _id: flowRevisionDocId(tenantId, namespace, id, at.revision) });
    return revision ? olderRevisionView(doc, revision) : null;
  }

  /** Time travel: the flow's own stream up to `asOf`, from the nearest snapshot. */
  async asOf(tenantId: string, namespace: string, id: string, asOf: Date, slicer?: Slicer): Promise<FlowView | null> {
    return flowViewFromLoaded(
      tenantId,
      await this.app.commands.loadAsOf(flowDecider, flowStream(tenantId, namespace, id), asOf, { slicer }),
    );
  }

  /** A window of a flow's revisions, oldest first, in one query (batched across flows by the caller's DataLoader). */
  revisionIds(flow: FlowView, window: RevisionWindow): string[] {
    return revisionWindow(flow.revisionCount, window).map((r) => flowRevisionDocId(flow.tenantId, flow.namespace, flow.id, r));
  }

  async create(caller: Caller, tenantId: string, source: string) {
    const access = await this.tenants.enter(caller, tenantId);
    // The namespace the right applies to is in the source, but a caller who may create flows nowhere is refused before it is parsed.
    const scope = access.scope('FLOW', 'CREATE');
    if (!scope.all && scope.namespaces.length === 0) throw forbidden('FLOW:CREATE');
    const definition = await parseFlowSourceAsync(source);
    access.require('FLOW', 'CREATE', definition.namespace);
    await this.requireNamespaceAllowed(tenantId, definition.namespace);
    await this.usage?.requireAllowed(tenantId, definition.namespace, source);
    return this.run(tenantId, definition.namespace, definition.id, {
      type: 'CreateFlow',
      data: { definition },
      metadata: caller.commandMetadata(tenantId),
    });
  }

  /** `expectedRevision` is the flow revision (a save counter), checked by the decider, not the stream's event count. */
  async update(caller: Caller, tenantId: string, namespace: string, id: string, source: string, expectedRevision?: number | null) {
    const access = await this.tenants.enter(caller, tenantId);
    this.validateFlowKey(namespace, id);
    access.require('FLOW', 'UPDATE', namespace);
    const definition = await parseFlowSourceAsync(source);
    if (definition.namespace === namespace) await this.usage?.requireAllowed(tenantId, namespace, source);
    return this.run(tenantId, namespace, id, {
      type: 'UpdateFlow',
      data: { namespace, id, definition, expectedRevision },
      metadata: caller.commandMetadata(tenantId),
    });
  }

  /** Saves an older revision's source as a new revision. */
  async restore(caller: Caller, tenantId: string, namespace: string, id: string, revision: number, expectedRevision?: number | null) {
    const access = await this.tenants.enter(caller, tenantId);
    this.validateFlowKey(namespace, id);
    if (!Number.isInteger(revision) || revision < 1) throw badInput('revision', 'revision must be a positive integer');
    access.require('FLOW', 'UPDATE', namespace);
    const saved = await this.findSave(flowStream(tenantId, namespace, id), revision);
    if (saved) await this.usage?.requireAllowed(tenantId, namespace, saved.source);
    return this.run(tenantId, namespace, id, {
      type: 'RestoreFlowRevision',
      data: { namespace, id, revision, saved, expectedRevision },
      metadata: caller.commandMetadata(tenantId),
    });
  }

  /**
   * Brings a deleted flow back with the source it had when deleted, as a new
   * revision (FLOW:CREATE). It is a save: the tenant's namespace rule and the
   * allowed namespaces of what it uses are checked as for a create.
   */
  async restoreDeleted(caller: Caller, tenantId: string, namespace: string, id: string, expectedRevision?: number | null) {
    const access = await this.tenants.enter(caller, tenantId);
    this.validateFlowKey(namespace, id);
    access.require('FLOW', 'CREATE', namespace);
    const { state } = await this.app.commands.load(flowDecider, flowStream(tenantId, namespace, id));
    if (state.status === 'deleted') {
      await this.requireNamespaceAllowed(tenantId, namespace);
      await this.usage?.requireAllowed(tenantId, namespace, state.current.source);
    }
    return this.run(tenantId, namespace, id, {
      type: 'RestoreDeletedFlow',
      data: { namespace, id, expectedRevision },
      metadata: caller.commandMetadata(tenantId),
    });
  }

  /**
   * The content of one saved revision, from the flow's own stream: every
   * event carries the revision it saved (or, for a delete, the last one), so
   * their revisions never decrease along the stream and a binary search finds
   * the save in O(log n) single-event reads, whatever the history's length.
   */
  private async findSave(stream: string, revision: number): Promise<FlowSnapshot | null> {
    const { state, revision: events } = await this.app.commands.load(flowDecider, stream);
    if (state.status === 'absent' || revision > state.current.revision) return null;
    const at = async (streamRevision: number): Promise<RecordedFlowEvent | undefined> => {
      const [raw] = await this.app.events.readStream(stream, { fromRevision: streamRevision, maxCount: 1 });
      return raw ? (this.app.upcasters.upcast(raw) as RecordedFlowEvent) : undefined;
    };
    // Save r is at least at stream revision r - 1 (one event per save), and at most at the last event.
    let low = revision - 1;
    let high = events - 1;
    while (low < high) {
      const middle = Math.floor((low + high) / 2);
      const event = await at(middle);
      if (event && event.data.revision >= revision) high = middle;
      else low = middle + 1;
    }
    const found = await at(low);
    if (!found || found.type === 'FlowDeleted' || found.data.revision !== revision) return null;
    return snapshotOf(found.data);
  }

  /** Soft delete: the flow stays readable with `deleted: true`; its namespace no longer counts it. */
  async delete(caller: Caller, tenantId: string, namespace: string, id: string, expectedRevision?: number | null) {
    const access = await this.tenants.enter(caller, tenantId);
    this.validateFlowKey(namespace, id);
    access.require('FLOW', 'DELETE', namespace);
    return this.run(tenantId, namespace, id, {
      type: 'DeleteFlow',
      data: { namespace, id, expectedRevision },
      metadata: caller.commandMetadata(tenantId),
    });
  }

  /**
   * deleteNamespace(force: true): every flow of the namespace (not of its
   * children, which are namespaces of their own) is deleted by its own
   * command, hence its own FlowDeleted event. Returns the last position written.
   */
  async deleteAllIn(caller: Caller, tenantId: string, namespace: string): Promise<number> {
    const access = await this.tenants.enter(caller, tenantId);
    access.require('FLOW', 'DELETE', namespace);
    const flows = await this.collection(tenantId).find({ namespace, deleted: false }, { projection: { id: 1 }, sort: { id: 1 } });
    let position = 0;
    for (const flow of flows) {
      // Handled without the per-command read-your-writes wait: one wait at the end covers them all.
      const result = await this.app.commands.handle(flowDecider, flowStream(tenantId, namespace, flow.id), {
        type: 'DeleteFlow',
        data: { namespace, id: flow.id },
        metadata: caller.commandMetadata(tenantId),
      });
      position = Math.max(position, result.position);
    }
    if (position > 0) await this.app.projections.waitFor(position, this.app.config.readYourWritesTimeoutMs);
    return position;
  }

  private validateFlowKey(namespace: string, id: string): void {
    validateId('namespace', 'namespace', namespace);
    validateId('flow', 'id', id);
  }

  /** Tenant setting `requireExistingNamespace`: no placeholder namespaces, flows go only where a namespace was created. */
  private async requireNamespaceAllowed(tenantId: string, namespace: string): Promise<void> {
    const tenant = await this.tenants.requireActive(tenantId);
    if (!tenant.requireExistingNamespace) return;
    const doc = await this.namespaces.collection(tenantId).findOne({ _id: docId(tenantId, namespace) });
    if (!doc?.existing) {
      throw badInput('namespace', `namespace ${namespace} does not exist, and this tenant requires flows to be in existing namespaces`);
    }
  }

  private async run(tenantId: string, namespace: string, id: string, command: FlowCommand): Promise<{ flow: FlowView; position: number }> {
    const result = await this.app.execute(flowDecider, flowStream(tenantId, namespace, id), command);
    // The answer is the aggregate as this command left it (a retried command: as it is now).
    const flow = flowViewFromLoaded(tenantId, result.loaded);
    if (!flow) throw notFound(`flow ${namespace}.${id}`);
    return { flow, position: result.position };
  }
}

function namespaceFilter(namespace: string, includeChildren: boolean): Record<string, unknown> {
  validateId('namespace', 'namespace', namespace);
  if (!includeChildren) return { namespace };
  return { $or: [{ namespace }, { namespace: { $regex: `^${escapeRegex(namespace)}\\.` } }] };
}

/** Case-insensitive substring match on id, namespace and description. */
function textFilter(query: string): Record<string, unknown> {
  if (query.length > MAX_QUERY) throw badInput('query', `query must be at most ${MAX_QUERY} characters`);
  const match = { $regex: escapeRegex(query), $options: 'i' };
  return { $or: [{ id: match }, { namespace: match }, { description: match }] };
}

/** Rows strictly after (namespace, id) in the list's sort order. */
function afterKey(namespace: string, id: string): Record<string, unknown> {
  return { $or: [{ namespace: { $gt: namespace } }, { namespace, id: { $gt: id } }] };
}

function beforeKey(namespace: string, id: string): Record<string, unknown> {
  return { $or: [{ namespace: { $lt: namespace } }, { namespace, id: { $lt: id } }] };
}
