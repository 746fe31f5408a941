import type { ListScope } from '../auth/authorizer.js';
import type { AuditEntryDocument } from '../projections/audit/audit-entry.js';
import type { Filter } from '../readmodels/port.js';
import { badInput } from '../shared/errors.js';
import { validateId } from '../shared/ids.js';

export interface AuditLogFilterInput {
  namespace?: string | null;
  resourceType?: string | null;
  resourceId?: string | null;
  actorId?: string | null;
  action?: string | null;
  /** Inclusive. */
  from?: Date | null;
  /** Exclusive. */
  to?: Date | null;
}

/**
 * The API's AuditLogFilter, validated, within what its caller may see: one
 * form from which both the store query (lists, exports, catch-up reads) and
 * the test of a single entry (live fan-out) are made, so the two cannot
 * disagree on what matches.
 */
export interface AuditCriteria {
  /** The namespaces (each with its subtree) the caller may see; null: everything. */
  visible: readonly string[] | null;
  /** A namespace and its subtree. */
  namespace: string | null;
  resourceType: string | null;
  resourceId: string | null;
  actorId: string | null;
  action: string | null;
  /** ISO 8601, inclusive. */
  from: string | null;
  /** ISO 8601, exclusive. */
  to: string | null;
}

const MAX_TEXT_FILTER = 300;

function textFilter(field: string, value: string | null | undefined): string | null {
  if (value === null || value === undefined) return null;
  if (value.length > MAX_TEXT_FILTER) throw badInput(`filter.${field}`, `filter.${field} is longer than ${MAX_TEXT_FILTER} characters`);
  return value;
}

/** Validates the filter (bad input is refused here, before anything is read). */
export function auditCriteria(filter: AuditLogFilterInput | null | undefined, scope: ListScope): AuditCriteria {
  const f = filter ?? {};
  const namespace = f.namespace === null || f.namespace === undefined ? null : validateId('namespace', 'filter.namespace', f.namespace);
  const criteria: AuditCriteria = {
    visible: scope.all ? null : [...scope.namespaces],
    namespace,
    resourceType: textFilter('resourceType', f.resourceType),
    resourceId: textFilter('resourceId', f.resourceId),
    actorId: textFilter('actorId', f.actorId),
    action: textFilter('action', f.action),
    from: f.from ? f.from.toISOString() : null,
    to: f.to ? f.to.toISOString() : null,
  };
  if (f.from && f.to && f.from.getTime() > f.to.getTime()) throw badInput('filter.to', 'filter.to must not be before filter.from');
  return criteria;
}

/** The MongoDB filter of the criteria. */
export function criteriaQuery(c: AuditCriteria): Filter {
  const clauses: Filter[] = [];
  // A namespace and its subtree are one key of the multikey `namespacePath` (see AuditEntryDocument): an index lookup.
  if (c.visible !== null) clauses.push({ namespacePath: { $in: [...c.visible] } });
  if (c.namespace !== null) clauses.push({ namespacePath: c.namespace });
  const equal: [string, string | null][] = [
    ['resourceType', c.resourceType],
    ['resourceId', c.resourceId],
    ['actor.id', c.actorId],
    ['action', c.action],
  ];
  for (const [field, value] of equal) if (value !== null) clauses.push({ [field]: value });
  const time: Record<string, string> = {};
  if (c.from !== null) time['$gte'] = c.from;
  if (c.to !== null) time['$lt'] = c.to;
  if (Object.keys(time).length > 0) clauses.push({ occurredAt: time });
  if (clauses.length === 0) return {};
  return clauses.length === 1 ? (clauses[0] as Filter) : { $and: clauses };
}

/** `namespace` is `root` or below it (what an equality on `namespacePath` matches). */
export function inSubtree(namespace: unknown, root: string): boolean {
  if (typeof namespace !== 'string' || !namespace.startsWith(root)) return false;
  return namespace.length === root.length || namespace.charCodeAt(root.length) === 46; // '.'
}

export type EntryPredicate = (doc: AuditEntryDocument) => boolean;

/** The criteria as a test of one stored entry: true exactly when `criteriaQuery` would match it. */
export function criteriaPredicate(c: AuditCriteria): EntryPredicate {
  const { visible, namespace, resourceType, resourceId, actorId, action, from, to } = c;
  return (doc) => {
    if (resourceId !== null && doc.resourceId !== resourceId) return false;
    if (actorId !== null && doc.actor?.id !== actorId) return false;
    if (resourceType !== null && doc.resourceType !== resourceType) return false;
    if (action !== null && doc.action !== action) return false;
    if (namespace !== null && !inSubtree(doc.namespace, namespace)) return false;
    if (visible !== null && !visible.some((root) => inSubtree(doc.namespace, root))) return false;
    if (from !== null || to !== null) {
      const at: unknown = doc.occurredAt;
      if (typeof at !== 'string') return false;
      if (from !== null && at < from) return false;
      if (to !== null && at >= to) return false;
    }
    return true;
  };
}

/**
 * Routing keys: a subscription is filed under the most selective equality
 * its criteria have, and an entry is offered to the subscriptions filed
 * under any of its own keys (`entryKeys`). Every entry a subscription
 * matches carries that subscription's key, so nothing it matches is missed.
 */
export const routingKey = {
  resourceId: (value: string): string => `r:${value}`,
  actorId: (value: string): string => `a:${value}`,
  resourceType: (value: string): string => `t:${value}`,
  action: (value: string): string => `x:${value}`,
  namespace: (value: string): string => `n:${value}`,
};

/**
 * The key a subscription is filed under: resourceId, then actorId, then
 * resourceType, then action, then the namespace subtree (the filter's, or
 * the caller's only visible one); null when it has none of them (it is
 * offered every entry of its tenant).
 */
export function criteriaKey(c: AuditCriteria): string | null {
  if (c.resourceId !== null) return routingKey.resourceId(c.resourceId);
  if (c.actorId !== null) return routingKey.actorId(c.actorId);
  if (c.resourceType !== null) return routingKey.resourceType(c.resourceType);
  if (c.action !== null) return routingKey.action(c.action);
  if (c.namespace !== null) return routingKey.namespace(c.namespace);
  const [only] = c.visible ?? [];
  if (c.visible?.length === 1 && only !== undefined) return routingKey.namespace(only);
  return null;
}

/**
 * Every key under which a subscription matching `doc` can be filed: its
 * resourceId, actorId, resourceType and action, and each ancestor-or-self of
 * its namespace (`a`, `a.b`, `a.b.c` for `a.b.c`).
 */
export function forEachEntryKey(doc: AuditEntryDocument, visit: (key: string) => void): void {
  if (typeof doc.resourceId === 'string') visit(routingKey.resourceId(doc.resourceId));
  if (typeof doc.actor?.id === 'string') visit(routingKey.actorId(doc.actor.id));
  if (typeof doc.resourceType === 'string') visit(routingKey.resourceType(doc.resourceType));
  if (typeof doc.action === 'string') visit(routingKey.action(doc.action));
  const namespace: unknown = doc.namespace;
  if (typeof namespace !== 'string' || namespace.length === 0) return;
  for (let dot = namespace.indexOf('.'); dot !== -1; dot = namespace.indexOf('.', dot + 1)) {
    visit(routingKey.namespace(namespace.slice(0, dot)));
  }
  visit(routingKey.namespace(namespace));
}
