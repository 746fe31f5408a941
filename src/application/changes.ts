import type { Access, ListScope } from '../auth/authorizer.js';
import type { Resource } from '../auth/permissions.js';
import type { AuditEntryDocument, AuditEntryView } from '../projections/audit/audit-entry.js';
import type { Filter } from '../readmodels/port.js';
import { badInput, forbidden } from '../shared/errors.js';
import { validateId } from '../shared/ids.js';
import { inSubtree, routingKey, type EntryPredicate } from './audit-criteria.js';
import { AuditFeed, type FeedFilter } from './audit-feed.js';
import type { AuditHub } from './audit-hub.js';
import type { Caller } from './caller.js';
import type { TenantService } from './tenants.js';

/**
 * The resource types a change feed delivers, each visible with its own VIEW
 * right: namespaced ones (NAMESPACE, FLOW, SECRET) through a grant on the
 * namespace or above it, tenant-level ones only through a tenant-wide grant.
 * Tenants, users and API tokens are not in it (no tenant member may VIEW
 * them as resources of the tenant).
 */
export const CHANGE_RESOURCE_TYPES = ['NAMESPACE', 'FLOW', 'SECRET', 'ROLE', 'BINDING', 'GROUP', 'SERVICE_ACCOUNT'] as const;
export type ChangeResourceType = (typeof CHANGE_RESOURCE_TYPES)[number];

export const CHANGE_KINDS = ['CREATED', 'UPDATED', 'DELETED', 'RESTORED'] as const;
export type ChangeKind = (typeof CHANGE_KINDS)[number];

/** What the audit entry's action means for the resource itself (a binding granted is created, a member added updates its group). */
const KIND_OF_ACTION: Readonly<Record<string, ChangeKind>> = {
  CREATE: 'CREATED',
  UPDATE: 'UPDATED',
  DELETE: 'DELETED',
  RESTORE: 'RESTORED',
  GRANT: 'CREATED',
  REVOKE: 'DELETED',
  ADD_MEMBER: 'UPDATED',
  REMOVE_MEMBER: 'UPDATED',
};

/** One change as a subscriber of `changes` sees it: what changed, not how or by whom (the client refetches what it needs). */
export interface ChangeView {
  /** Decimal string, the resume token (`afterPosition`). */
  position: string;
  occurredAt: string;
  resourceType: ChangeResourceType;
  resourceId: string;
  namespace: string | null;
  kind: ChangeKind;
  /** The flow's revision after the change (flows only; null for a delete and for other resources). */
  revision: number | null;
}

export interface ChangeFilterInput {
  /** Only these types; absent or empty: every type the subscriber may view. */
  resourceTypes?: readonly string[] | null;
  /** This namespace and its subtree. */
  namespace?: string | null;
  resourceId?: string | null;
}

/** Per resource type, where the subscriber may VIEW it (types absent: nowhere). */
export type ChangeVisibility = ReadonlyMap<ChangeResourceType, ListScope>;

export function changeVisibility(access: Pick<Access, 'scope'>): ChangeVisibility {
  const visible = new Map<ChangeResourceType, ListScope>();
  for (const type of CHANGE_RESOURCE_TYPES) {
    const scope = access.scope(type satisfies Resource, 'VIEW');
    if (scope.all || scope.namespaces.length > 0) visible.set(type, scope);
  }
  return visible;
}

interface ChangeCriteria {
  /** The types the filter keeps, each with where the subscriber may view it. */
  types: ChangeVisibility;
  namespace: string | null;
  resourceId: string | null;
}

const MAX_TEXT_FILTER = 300;

/** Validates the filter (bad input is refused before anything is read) and keeps only what `visible` allows. */
function changeCriteria(filter: ChangeFilterInput | null | undefined, visible: ChangeVisibility): ChangeCriteria {
  const f = filter ?? {};
  const wanted = f.resourceTypes && f.resourceTypes.length > 0 ? new Set(f.resourceTypes) : null;
  for (const type of wanted ?? []) {
    if (!(CHANGE_RESOURCE_TYPES as readonly string[]).includes(type))
      throw badInput('filter.resourceTypes', `unknown resource type ${type}`);
  }
  const namespace = f.namespace === null || f.namespace === undefined ? null : validateId('namespace', 'filter.namespace', f.namespace);
  const resourceId = f.resourceId ?? null;
  if (resourceId !== null && resourceId.length > MAX_TEXT_FILTER) {
    throw badInput('filter.resourceId', `filter.resourceId is longer than ${MAX_TEXT_FILTER} characters`);
  }
  const types = new Map([...visible].filter(([type]) => wanted === null || wanted.has(type)));
  return { types, namespace, resourceId };
}

function changeQuery(c: ChangeCriteria): Filter {
  const byType: Filter[] = [...c.types].map(([type, scope]) =>
    scope.all ? { resourceType: type } : { resourceType: type, namespacePath: { $in: [...scope.namespaces] } },
  );
  // Nothing visible that the filter keeps: a query that matches nothing.
  const clauses: Filter[] = [byType.length === 0 ? { resourceType: { $in: [] } } : byType.length === 1 ? byType[0]! : { $or: byType }];
  if (c.namespace !== null) clauses.push({ namespacePath: c.namespace });
  if (c.resourceId !== null) clauses.push({ resourceId: c.resourceId });
  return clauses.length === 1 ? clauses[0]! : { $and: clauses };
}

/** True exactly when `changeQuery` would match the stored entry. */
function changePredicate(c: ChangeCriteria): EntryPredicate {
  const { types, namespace, resourceId } = c;
  return (doc: AuditEntryDocument) => {
    const scope = types.get(doc.resourceType as ChangeResourceType);
    if (!scope) return false;
    if (!scope.all && !scope.namespaces.some((root) => inSubtree(doc.namespace, root))) return false;
    if (namespace !== null && !inSubtree(doc.namespace, namespace)) return false;
    if (resourceId !== null && doc.resourceId !== resourceId) return false;
    return true;
  };
}

/**
 * The hub's routing key (see criteriaKey): a key every matching entry
 * carries, so the hub offers an entry only to the feeds filed under its
 * keys. Null (offered every entry of the tenant) only when nothing narrower holds.
 */
function changeKey(c: ChangeCriteria): string | null {
  if (c.resourceId !== null) return routingKey.resourceId(c.resourceId);
  if (c.namespace !== null) return routingKey.namespace(c.namespace);
  const types = [...c.types];
  const [single] = types;
  if (types.length === 1 && single) return routingKey.resourceType(single[0]);
  // Seen through namespace grants only, all under one root: that namespace's key.
  const roots = new Set<string>();
  for (const [, scope] of types) {
    if (scope.all) return null;
    for (const ns of scope.namespaces) roots.add(ns);
  }
  const [root] = roots;
  if (roots.size === 1 && root !== undefined) return routingKey.namespace(root);
  return null;
}

export function changeFeedFilter(filter: ChangeFilterInput | null | undefined, visible: ChangeVisibility): FeedFilter {
  const criteria = changeCriteria(filter, visible);
  return { query: changeQuery(criteria), matches: changePredicate(criteria), key: changeKey(criteria) };
}

/** The flow revision after the change, from what the entry holds (`changes.revision.after`, or the created flow's `after.revision`). */
function revisionOf(entry: AuditEntryView): number | null {
  if (entry.resourceType !== 'FLOW') return null;
  const changes = entry.changes;
  if (changes === null || typeof changes !== 'object' || Array.isArray(changes)) return null;
  const revision = changes['revision'];
  if (revision !== null && typeof revision === 'object' && !Array.isArray(revision)) {
    const after = revision['after'];
    return typeof after === 'number' ? after : null;
  }
  const created = changes['after'];
  if (created !== null && typeof created === 'object' && !Array.isArray(created)) {
    const value = created['revision'];
    return typeof value === 'number' ? value : null;
  }
  return null;
}

/** An audit entry as a change: only the fields listed in ChangeView (never the entry's `changes`, actor or request details). */
export function changeOf(entry: AuditEntryView): ChangeView {
  return {
    position: entry.position,
    occurredAt: entry.occurredAt,
    resourceType: entry.resourceType as ChangeResourceType,
    resourceId: entry.resourceId,
    namespace: entry.namespace,
    kind: KIND_OF_ACTION[entry.action] ?? 'UPDATED',
    revision: revisionOf(entry),
  };
}

/** An AuditFeed seen as changes: the same gap-free, resumable sequence, each entry reduced to a ChangeView. */
export class ChangeFeed implements AsyncIterableIterator<ChangeView> {
  constructor(readonly feed: AuditFeed) {}

  [Symbol.asyncIterator](): this {
    return this;
  }

  async next(): Promise<IteratorResult<ChangeView>> {
    const result = await this.feed.next();
    return result.done ? { value: undefined, done: true } : { value: changeOf(result.value), done: false };
  }

  async return(): Promise<IteratorResult<ChangeView>> {
    await this.feed.return();
    return { value: undefined, done: true };
  }
}

/**
 * The live change feed of every tenant member (`changes`): the audit log's
 * entries about resources the subscriber may VIEW, reduced to what changed.
 * It rides on the audit hub: no store read of its own per event, whatever
 * the number of subscribers (catch-up after a position reads like an audit
 * feed's does).
 */
export class ChangeService {
  constructor(
    private readonly tenants: TenantService,
    private readonly hub: AuditHub,
  ) {}

  /** Where the caller may view changes in the tenant; FORBIDDEN when nowhere. */
  async visibility(caller: Caller, tenantId: string): Promise<ChangeVisibility> {
    const visible = changeVisibility(await this.tenants.enter(caller, tenantId));
    if (visible.size === 0) throw forbidden('VIEW on any of ' + CHANGE_RESOURCE_TYPES.join(', '));
    return visible;
  }

  /**
   * Changes matching `filter` that the caller may view: after `afterPosition`
   * when given, then live ones. Rights are re-checked as the audit feed does
   * (every `hub.limits.recheckMs`, before delivering): what a revoked grant
   * covered stops; when the caller may view nothing any more, the feed ends.
   */
  async follow(
    caller: Caller,
    tenantId: string,
    filter: ChangeFilterInput | null | undefined,
    afterPosition: number | null,
  ): Promise<ChangeFeed> {
    const initial = changeFeedFilter(filter, await this.visibility(caller, tenantId));
    const recheck = async (): Promise<FeedFilter | null> => {
      caller.invalidateAccess();
      try {
        return changeFeedFilter(filter, await this.visibility(caller, tenantId));
      } catch {
        return null;
      }
    };
    return new ChangeFeed(new AuditFeed(this.hub, { tenantId, filter: initial, after: afterPosition, recheck }));
  }
}
