import type { Api } from './api.js';
import type { AuditEntry } from './entries.js';

/** A resource as the API returns it: field → value. */
export type Snapshot = Record<string, unknown> | null;

interface Target {
  label: string;
  query: string;
  variables: Record<string, unknown>;
}

const NAMESPACE = `query NamespaceAsOf($id: ID!, $asOf: DateTime) {
  resource: namespace(id: $id, asOf: $asOf) { id description variables pluginDefaults { type forced values } allowedNamespaces revision updatedAt }
}`;
const FLOW = `query FlowAsOf($namespace: String!, $id: ID!, $asOf: DateTime) {
  resource: flow(namespace: $namespace, id: $id, asOf: $asOf) { id namespace revision disabled deleted updatedAt source }
}`;
const ROLE = `query RoleAsOf($id: ID!, $asOf: DateTime) {
  resource: role(id: $id, asOf: $asOf) { id name description permissions { resource actions } revision updatedAt }
}`;

/** The resources the API can show at a past instant (`asOf`); null for the others. */
function target(entry: AuditEntry): Target | null {
  switch (entry.resourceType) {
    case 'NAMESPACE':
      return { label: 'namespace', query: NAMESPACE, variables: { id: entry.resourceId } };
    case 'ROLE':
      return { label: 'role', query: ROLE, variables: { id: entry.resourceId } };
    case 'FLOW': {
      // A flow entry's resource id is `<namespace>.<flow id>`.
      const namespace = entry.namespace ?? '';
      if (!namespace || !entry.resourceId.startsWith(`${namespace}.`)) return null;
      return { label: 'flow', query: FLOW, variables: { namespace, id: entry.resourceId.slice(namespace.length + 1) } };
    }
    default:
      return null;
  }
}

export const canTimeTravel = (entry: AuditEntry): boolean => target(entry) !== null;

export const resourceLabel = (entry: AuditEntry): string => target(entry)?.label ?? entry.resourceType.toLowerCase();

/**
 * The instant to look at: right after the entry, except for a deletion,
 * after which there is nothing to see; then just before it.
 */
export function asOfInstant(entry: AuditEntry): { iso: string; description: string } {
  if (entry.action === 'DELETE') {
    return { iso: new Date(new Date(entry.occurredAt).getTime() - 1).toISOString(), description: 'just before this deletion' };
  }
  return { iso: entry.occurredAt, description: 'right after this entry' };
}

export interface TimeTravel {
  then: Snapshot;
  now: Snapshot;
}

/** The resource as it was at the entry, and as it is now, side by side. */
export async function timeTravel(api: Api, entry: AuditEntry): Promise<TimeTravel | null> {
  const found = target(entry);
  if (!found) return null;
  const asOf = asOfInstant(entry).iso;
  const [then, now] = await Promise.all([
    api.query<{ resource: Snapshot }>(found.query, { ...found.variables, asOf }),
    api.query<{ resource: Snapshot }>(found.query, found.variables),
  ]);
  return { then: then.resource, now: now.resource };
}
