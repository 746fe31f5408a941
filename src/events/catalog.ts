/**
 * Every event type the system writes, with what it is about. The audit log,
 * the upcasting coverage test and exports read this one list, so a new event
 * type is added here or it cannot be written (the command handler calls
 * eventInfo on every event it appends, src/commands/handler.ts).
 */
import type { DomainEventType } from './domain-events.js';

export type AuditAction = 'CREATE' | 'UPDATE' | 'DELETE' | 'RESTORE' | 'GRANT' | 'REVOKE' | 'ADD_MEMBER' | 'REMOVE_MEMBER' | 'REVEAL';

export interface EventTypeInfo {
  resourceType: string;
  action: AuditAction;
  /** When the action depends on the event's data (a put that creates or replaces). */
  actionOf?: (data: Record<string, unknown>) => AuditAction;
  /** The id of the resource the event is about, from the event's data. */
  resourceId(data: Record<string, unknown>): string;
}

const byField =
  (field: string) =>
  (data: Record<string, unknown>): string => {
    const value = data[field];
    return typeof value === 'string' ? value : value == null ? '' : JSON.stringify(value);
  };

const flowId = (data: Record<string, unknown>): string => `${String(data['namespace'])}.${String(data['id'])}`;
const secretId = (data: Record<string, unknown>): string => `${String(data['namespace'])}/${String(data['key'])}`;

/** One entry per domain event type: a type missing here, or one here that no aggregate has, does not compile. */
const CATALOG = {
  TenantCreated: { resourceType: 'TENANT', action: 'CREATE', resourceId: byField('id') },
  TenantUpdated: { resourceType: 'TENANT', action: 'UPDATE', resourceId: byField('id') },
  TenantDeleted: { resourceType: 'TENANT', action: 'DELETE', resourceId: byField('id') },
  TenantRestored: { resourceType: 'TENANT', action: 'RESTORE', resourceId: byField('id') },
  UserCreated: { resourceType: 'USER', action: 'CREATE', resourceId: byField('id') },
  // Disabling and enabling are updates of the user (the event type tells which).
  UserUpdated: { resourceType: 'USER', action: 'UPDATE', resourceId: byField('id') },
  UserDisabled: { resourceType: 'USER', action: 'UPDATE', resourceId: byField('id') },
  UserEnabled: { resourceType: 'USER', action: 'UPDATE', resourceId: byField('id') },
  UserDeleted: { resourceType: 'USER', action: 'DELETE', resourceId: byField('id') },
  NamespaceCreated: {
    resourceType: 'NAMESPACE',
    action: 'CREATE',
    actionOf: (data) => (data['restored'] ? 'RESTORE' : 'CREATE'),
    resourceId: byField('id'),
  },
  NamespaceUpdated: { resourceType: 'NAMESPACE', action: 'UPDATE', resourceId: byField('id') },
  NamespaceDeleted: { resourceType: 'NAMESPACE', action: 'DELETE', resourceId: byField('id') },
  BindingCreated: { resourceType: 'BINDING', action: 'GRANT', resourceId: byField('id') },
  BindingDeleted: { resourceType: 'BINDING', action: 'REVOKE', resourceId: byField('id') },
  // Access control: roles, groups (member events: {id: group, userId}), service accounts, API tokens.
  RoleCreated: { resourceType: 'ROLE', action: 'CREATE', resourceId: byField('id') },
  RoleUpdated: { resourceType: 'ROLE', action: 'UPDATE', resourceId: byField('id') },
  RoleDeleted: { resourceType: 'ROLE', action: 'DELETE', resourceId: byField('id') },
  GroupCreated: { resourceType: 'GROUP', action: 'CREATE', resourceId: byField('id') },
  GroupUpdated: { resourceType: 'GROUP', action: 'UPDATE', resourceId: byField('id') },
  GroupDisabled: { resourceType: 'GROUP', action: 'UPDATE', resourceId: byField('id') },
  GroupEnabled: { resourceType: 'GROUP', action: 'UPDATE', resourceId: byField('id') },
  GroupDeleted: { resourceType: 'GROUP', action: 'DELETE', resourceId: byField('id') },
  GroupMemberAdded: { resourceType: 'GROUP', action: 'ADD_MEMBER', resourceId: byField('id') },
  GroupMemberRemoved: { resourceType: 'GROUP', action: 'REMOVE_MEMBER', resourceId: byField('id') },
  ServiceAccountCreated: { resourceType: 'SERVICE_ACCOUNT', action: 'CREATE', resourceId: byField('id') },
  ServiceAccountUpdated: { resourceType: 'SERVICE_ACCOUNT', action: 'UPDATE', resourceId: byField('id') },
  ServiceAccountDisabled: { resourceType: 'SERVICE_ACCOUNT', action: 'UPDATE', resourceId: byField('id') },
  ServiceAccountEnabled: { resourceType: 'SERVICE_ACCOUNT', action: 'UPDATE', resourceId: byField('id') },
  ServiceAccountDeleted: { resourceType: 'SERVICE_ACCOUNT', action: 'DELETE', resourceId: byField('id') },
  // API tokens carry a salted hash of the secret (not reversible), never the secret.
  ApiTokenCreated: { resourceType: 'API_TOKEN', action: 'CREATE', resourceId: byField('id') },
  ApiTokenRevoked: { resourceType: 'API_TOKEN', action: 'REVOKE', resourceId: byField('id') },
  // Flows: data {namespace, id, ...}; the resource id is `namespace.id`.
  FlowCreated: {
    resourceType: 'FLOW',
    action: 'CREATE',
    actionOf: (data) => (data['restoredFrom'] !== undefined && data['restoredFrom'] !== null ? 'RESTORE' : 'CREATE'),
    resourceId: flowId,
  },
  FlowUpdated: { resourceType: 'FLOW', action: 'UPDATE', resourceId: flowId },
  FlowDeleted: { resourceType: 'FLOW', action: 'DELETE', resourceId: flowId },
  // Secrets: data {namespace, key, created, ...}; never a value.
  SecretPut: {
    resourceType: 'SECRET',
    action: 'UPDATE',
    actionOf: (data) => (data['created'] === true ? 'CREATE' : 'UPDATE'),
    resourceId: secretId,
  },
  SecretDeleted: { resourceType: 'SECRET', action: 'DELETE', resourceId: secretId },
} satisfies Record<DomainEventType, EventTypeInfo>;

/** Keyed by any string: the log may hold a type this version does not know (an import, a newer writer). */
export const EVENT_CATALOG: Record<string, EventTypeInfo> = CATALOG;

export function eventInfo(type: string): EventTypeInfo {
  const info = EVENT_CATALOG[type];
  if (!info) throw new Error(`event type ${type} is not in src/events/catalog.ts`);
  return info;
}
