export const RESOURCES = [
  'TENANT',
  'NAMESPACE',
  'FLOW',
  'SECRET',
  'ROLE',
  'BINDING',
  'USER',
  'GROUP',
  'SERVICE_ACCOUNT',
  'AUDITLOG',
] as const;
export type Resource = (typeof RESOURCES)[number];

export const ACTIONS = ['VIEW', 'LIST', 'CREATE', 'UPDATE', 'DELETE', 'EXPORT', 'ESCALATE'] as const;
export type Action = (typeof ACTIONS)[number];

export interface Permission {
  resource: Resource;
  actions: Action[];
}

/** `FLOW:CREATE` */
export type PermissionKey = `${Resource}:${Action}`;

export const permissionKey = (resource: Resource, action: Action): PermissionKey => `${resource}:${action}`;

/**
 * Which actions make sense on which resource: EXPORT exists only for the
 * audit log, ESCALATE only for bindings (granting rights one does not hold
 * oneself, see escalation.ts).
 */
export function actionsFor(resource: Resource): Action[] {
  if (resource === 'AUDITLOG') return ['VIEW', 'LIST', 'EXPORT'];
  if (resource === 'BINDING') return ['VIEW', 'LIST', 'CREATE', 'UPDATE', 'DELETE', 'ESCALATE'];
  return ['VIEW', 'LIST', 'CREATE', 'UPDATE', 'DELETE'];
}

/**
 * The actions a role bound in a tenant can actually use: the instance-level
 * ones are refused to every tenant role whatever it lists (creating and
 * deleting tenants, changing domains, managing users are for instance
 * admins), so a role neither lists nor accepts them. Of TENANT, a tenant's
 * admin may change its name and settings (UPDATE); USER has nothing.
 */
export function tenantActionsFor(resource: Resource): Action[] {
  if (resource === 'TENANT') return ['UPDATE'];
  if (resource === 'USER') return [];
  return actionsFor(resource);
}

const all = (resource: Resource): Permission => ({ resource, actions: tenantActionsFor(resource) });
const read = (resource: Resource): Permission => ({ resource, actions: ['VIEW', 'LIST'] });

export interface RoleDefinition {
  id: string;
  name: string;
  description: string;
  permissions: Permission[];
  managed: boolean;
}

/** Present in every tenant, not editable (Kestra's managed roles). */
export const MANAGED_ROLES: readonly RoleDefinition[] = [
  {
    id: 'admin',
    name: 'Admin',
    description: 'Everything in the tenant, including its settings, access control and the audit log.',
    permissions: RESOURCES.map(all).filter((p) => p.actions.length > 0),
    managed: true,
  },
  {
    id: 'developer',
    name: 'Developer',
    description: 'Builds flows and manages their secrets; reads namespaces and the audit log.',
    permissions: [read('NAMESPACE'), all('FLOW'), all('SECRET'), read('AUDITLOG')],
    managed: true,
  },
  {
    id: 'editor',
    name: 'Editor',
    description: 'Creates and edits namespaces, flows and secrets, but deletes nothing.',
    permissions: [
      { resource: 'NAMESPACE', actions: ['VIEW', 'LIST', 'CREATE', 'UPDATE'] },
      { resource: 'FLOW', actions: ['VIEW', 'LIST', 'CREATE', 'UPDATE'] },
      { resource: 'SECRET', actions: ['VIEW', 'LIST', 'CREATE', 'UPDATE'] },
    ],
    managed: true,
  },
  {
    id: 'viewer',
    name: 'Viewer',
    description: 'Reads namespaces, flows and secret metadata.',
    permissions: [read('NAMESPACE'), read('FLOW'), read('SECRET')],
    managed: true,
  },
];

export const MANAGED_ROLE_IDS = new Set(MANAGED_ROLES.map((r) => r.id));

/**
 * Resources that live inside a namespace. A binding scoped to a namespace
 * grants these within that namespace's subtree; it grants nothing on the
 * tenant-wide resources (roles, bindings, groups, ...).
 */
export const NAMESPACED_RESOURCES: ReadonlySet<Resource> = new Set(['NAMESPACE', 'FLOW', 'SECRET', 'AUDITLOG']);
