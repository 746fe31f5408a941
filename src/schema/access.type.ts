import { Field, ID, Int, ObjectType, registerEnumType } from 'type-graphql';
import type { TokenPrincipalType } from '../aggregates/api-token/api-token.js';
import type { ApiTokenView } from '../application/api-tokens.js';
import type { BindingView } from '../application/bindings.js';
import type { EffectivePermissionView } from '../application/effective-permissions.js';
import type { GroupView } from '../application/groups.js';
import type { RoleView } from '../application/roles.js';
import type { ServiceAccountView } from '../application/service-accounts.js';
import { ACTIONS, RESOURCES, type Action, type Permission as PermissionView, type Resource } from '../auth/permissions.js';
import { CREATED_AT, CREATED_BY, DESCRIPTION_TEXT, DISPLAY_NAME, UPDATED_AT } from './descriptions.js';
import { DateTimeScalar } from './scalars.js';

/** Who a binding, a group membership or a token is about (src/aggregates/binding/binding.ts PRINCIPAL_TYPES). */
export enum PrincipalTypeEnum {
  USER = 'USER',
  GROUP = 'GROUP',
  SERVICE_ACCOUNT = 'SERVICE_ACCOUNT',
}
registerEnumType(PrincipalTypeEnum, {
  name: 'PrincipalType',
  description: 'A user (instance-wide), a group or a service account (one tenant).',
  valuesConfig: {
    USER: { description: 'A person, known to the whole instance; rights come from bindings in each tenant.' },
    GROUP: { description: 'A group of users of one tenant; its members get what its bindings grant.' },
    SERVICE_ACCOUNT: { description: 'A non-human principal of one tenant, authenticating with API tokens.' },
  },
});

/**
 * The resources and actions of permissions (src/auth/permissions.ts), as enums on outputs. Inputs
 * (PermissionInput) keep String: a GraphQL enum refuses a quoted literal such as `resource: "FLOW"`
 * in a query's text, which clients have always sent.
 */
export const PermissionResourceEnum = Object.fromEntries(RESOURCES.map((r) => [r, r])) as { [R in Resource]: R };
registerEnumType(PermissionResourceEnum, {
  name: 'PermissionResource',
  description: 'What a permission is about.',
  valuesConfig: {
    TENANT: { description: 'The tenant itself: its name and settings (UPDATE); creating and deleting tenants is for instance admins.' },
    NAMESPACE: { description: 'Namespaces and their settings: variables, plugin defaults, allowed namespaces, default authentications.' },
    FLOW: { description: 'Flows and their revisions.' },
    SECRET: { description: 'Namespace secrets: their metadata (VIEW, LIST) and values (CREATE, UPDATE write them; nothing reads them).' },
    ROLE: { description: 'Custom roles.' },
    BINDING: { description: 'Bindings: who holds which role where.' },
    USER: { description: 'Users: instance-wide, managed by instance admins; no tenant role grants anything on them.' },
    GROUP: { description: 'Groups and their members.' },
    SERVICE_ACCOUNT: { description: 'Service accounts and their API tokens.' },
    AUDITLOG: { description: 'The audit log: reading, verifying and exporting it.' },
  } satisfies Record<Resource, { description: string }>,
});

export const PermissionActionEnum = Object.fromEntries(ACTIONS.map((a) => [a, a])) as { [A in Action]: A };
registerEnumType(PermissionActionEnum, {
  name: 'PermissionAction',
  description: 'What a permission allows on its resource.',
  valuesConfig: {
    VIEW: { description: 'Read one by its id.' },
    LIST: { description: 'List them (and search them).' },
    CREATE: { description: 'Create new ones.' },
    UPDATE: { description: 'Change existing ones.' },
    DELETE: { description: 'Delete them.' },
    EXPORT: { description: 'AUDITLOG only: download the audit log (GET …/audit-logs/export).' },
    ESCALATE: { description: 'BINDING only: grant rights one does not hold oneself.' },
  } satisfies Record<Action, { description: string }>,
});

@ObjectType({ description: 'RESOURCE and the actions a role allows on it.' })
export class Permission implements PermissionView {
  @Field(() => PermissionResourceEnum, { description: 'The resource.' }) resource!: Resource;
  @Field(() => [PermissionActionEnum], { description: 'The actions allowed on it: EXPORT only for AUDITLOG, ESCALATE only for BINDING.' })
  actions!: Action[];
}

@ObjectType({
  description: 'A named set of permissions. Managed roles (admin, developer, editor, viewer) exist in every tenant and cannot be changed.',
})
export class Role implements RoleView {
  @Field(() => ID, { description: 'Role id within the tenant: ^[a-z0-9]+(-[a-z0-9]+)*$, at most 63.' }) id!: string;
  @Field(() => String, { description: DISPLAY_NAME }) name!: string;
  @Field(() => String, { nullable: true, description: DESCRIPTION_TEXT }) description!: string | null;
  @Field(() => [Permission], { description: 'What a binding of this role grants, per resource.' }) permissions!: Permission[];
  @Field(() => Boolean, { description: 'A managed role: built in, the same in every tenant, read-only.' }) managed!: boolean;
  @Field(() => Int, { description: 'Events in the role stream; 0 for managed roles.' }) revision!: number;
  @Field(() => DateTimeScalar, { nullable: true, description: `${CREATED_AT} Null for managed roles.` }) createdAt!: string | null;
  @Field(() => DateTimeScalar, { nullable: true, description: `${UPDATED_AT} Null for managed roles.` }) updatedAt!: string | null;
}

@ObjectType({ description: 'A principal holds a role, tenant-wide or on a namespace and its subtree. Immutable: delete and recreate.' })
export class Binding implements BindingView {
  @Field(() => ID, { description: 'Binding id, assigned by the server.' }) id!: string;
  @Field(() => PrincipalTypeEnum, { description: 'What kind of principal holds the role.' }) principalType!: PrincipalTypeEnum;
  @Field(() => ID, { description: 'The user, group or service account id.' }) principalId!: string;
  @Field(() => ID, { description: 'The role it grants.' }) roleId!: string;
  @Field(() => String, { nullable: true, description: 'null: tenant-wide.' }) namespace!: string | null;
  @Field(() => Int, { description: 'Events in the binding stream: always 1 while it exists (bindings never change); for deleteBinding.' })
  revision!: number;
  @Field(() => DateTimeScalar, { description: CREATED_AT }) createdAt!: string;
  @Field(() => String, { description: CREATED_BY }) createdBy!: string;
}

@ObjectType({ description: 'Users of one tenant; members inherit the group’s bindings.' })
export class Group implements GroupView {
  @Field(() => ID, { description: 'Group id within the tenant: ^[a-z0-9]+(-[a-z0-9]+)*$, at most 63; never reused.' }) id!: string;
  @Field(() => String, { description: DISPLAY_NAME }) name!: string;
  @Field(() => String, { nullable: true, description: DESCRIPTION_TEXT }) description!: string | null;
  @Field(() => [ID], { description: 'Ids of its member users.' }) members!: string[];
  @Field(() => Boolean, { description: 'A disabled group’s bindings grant its members nothing until it is enabled.' }) disabled!: boolean;
  @Field(() => Int, { description: 'Events in the group stream: pass it as expectedRevision.' }) revision!: number;
  @Field(() => DateTimeScalar, { nullable: true, description: CREATED_AT }) createdAt!: string | null;
  @Field(() => DateTimeScalar, { nullable: true, description: UPDATED_AT }) updatedAt!: string | null;
}

@ObjectType({ description: 'A non-human principal of one tenant; it authenticates with API tokens.' })
export class ServiceAccount implements ServiceAccountView {
  @Field(() => ID, { description: 'Service account id within the tenant: ^[a-z0-9]+(-[a-z0-9]+)*$, at most 63; never reused.' })
  id!: string;
  @Field(() => String, { description: DISPLAY_NAME }) name!: string;
  @Field(() => String, { nullable: true, description: DESCRIPTION_TEXT }) description!: string | null;
  @Field(() => Boolean, { description: 'A disabled service account’s tokens do not authenticate until it is enabled.' }) disabled!: boolean;
  @Field(() => Int, { description: 'Events in the service account stream: pass it as expectedRevision.' }) revision!: number;
  @Field(() => DateTimeScalar, { description: CREATED_AT }) createdAt!: string;
  @Field(() => String, { description: CREATED_BY }) createdBy!: string;
  @Field(() => DateTimeScalar, { nullable: true, description: UPDATED_AT }) updatedAt!: string | null;
}

@ObjectType({ description: 'An API token without its secret.' })
export class ApiToken implements ApiTokenView {
  @Field(() => ID, { description: 'Token id (not the secret): for revokeApiToken and the audit log.' }) id!: string;
  @Field(() => String, { description: 'Token name, chosen at creation: ^[a-z0-9]+(-[a-z0-9]+)*$.' }) name!: string;
  @Field(() => PrincipalTypeEnum, { description: 'USER or SERVICE_ACCOUNT: who the token acts as.' }) principalType!: TokenPrincipalType;
  @Field(() => ID, { description: 'The user or service account the token acts as.' }) principalId!: string;
  @Field(() => DateTimeScalar, { nullable: true, description: 'null: never expires.' }) expiresAt!: string | null;
  @Field(() => DateTimeScalar, { description: CREATED_AT }) createdAt!: string;
  @Field(() => String, { description: CREATED_BY }) createdBy!: string;
  @Field(() => DateTimeScalar, { nullable: true, description: 'Recorded at most once a minute.' }) lastUsedAt!: string | null;
  @Field(() => Boolean, { description: 'Revoked: refused from then on, for good.' }) revoked!: boolean;
  @Field(() => DateTimeScalar, { nullable: true, description: 'When it was revoked; null while it is not.' }) revokedAt!: string | null;
  @Field(() => Int, { description: 'Events in the token stream: 1, or 2 once revoked; for revokeApiToken.' }) revision!: number;
}

@ObjectType({ description: 'A new API token. `token` is shown here once and never again: only a salted hash is kept.' })
export class CreatedApiToken extends ApiToken {
  @Field(() => String, { description: 'The bearer token: `Authorization: Bearer <token>`.' }) token!: string;
}

@ObjectType({ description: 'One permission a principal holds, and what grants it.' })
export class EffectivePermission implements EffectivePermissionView {
  @Field(() => PermissionResourceEnum, { description: 'The resource, e.g. FLOW.' }) resource!: string;
  @Field(() => PermissionActionEnum, { description: 'The action on it, e.g. CREATE.' }) action!: string;
  @Field(() => String, { nullable: true, description: 'null: tenant-wide; else this namespace and its subtree.' }) namespace!:
    string | null;
  @Field(() => String, { description: '`binding:<id>`, `group:<id> binding:<id>`, or `instance-admin`.' }) via!: string;
}
