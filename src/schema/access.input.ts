import { Field, ID, InputType, Int } from 'type-graphql';
import { PrincipalTypeEnum } from './access.type.js';

@InputType({ description: 'RESOURCE and the actions a role allows on it.' })
export class PermissionInput {
  @Field(() => String, { description: 'TENANT NAMESPACE FLOW SECRET ROLE BINDING USER GROUP SERVICE_ACCOUNT AUDITLOG' }) resource!: string;
  @Field(() => [String], { description: 'VIEW LIST CREATE UPDATE DELETE (EXPORT for AUDITLOG, ESCALATE for BINDING)' }) actions!: string[];
}

@InputType({ description: 'A new custom role (createRole).' })
export class CreateRoleInput {
  @Field(() => ID, { description: 'Role id: ^[a-z0-9]+(-[a-z0-9]+)*$, at most 63; not a managed role’s.' }) id!: string;
  @Field(() => String, { nullable: true, description: 'Display name; defaults to the id.' }) name?: string | null;
  @Field(() => String, { nullable: true, description: 'Free-text description.' }) description?: string | null;
  @Field(() => [PermissionInput], { description: 'What a binding of the role grants; a resource at most once.' })
  permissions!: PermissionInput[];
}

@InputType({ description: 'What updateRole changes; absent or null fields stay as they are (description: null clears it).' })
export class UpdateRoleInput {
  @Field(() => String, { nullable: true, description: 'New display name; null: unchanged.' }) name?: string | null;
  @Field(() => String, { nullable: true, description: 'New description; absent: unchanged, null: cleared.' }) description?: string | null;
  @Field(() => [PermissionInput], { nullable: true, description: 'Replaces the whole list.' }) permissions?: PermissionInput[] | null;
}

@InputType({ description: 'A new binding (createBinding): a principal holds a role, tenant-wide or on a namespace subtree.' })
export class CreateBindingInput {
  @Field(() => PrincipalTypeEnum, { description: 'What kind of principal principalId names.' }) principalType!: PrincipalTypeEnum;
  @Field(() => ID, { description: 'A user (any of the instance), or a group or service account of this tenant.' }) principalId!: string;
  @Field(() => ID, { description: 'The role to grant: a managed or custom role of this tenant.' }) roleId!: string;
  @Field(() => String, { nullable: true, description: 'Limits the binding to this namespace and its children.' }) namespace?: string | null;
}

@InputType({ description: 'A new group (createGroup), without members: add them with addGroupMember.' })
export class CreateGroupInput {
  @Field(() => ID, { description: 'Group id: ^[a-z0-9]+(-[a-z0-9]+)*$, at most 63; an id once used cannot be used again.' }) id!: string;
  @Field(() => String, { nullable: true, description: 'Display name; defaults to the id.' }) name?: string | null;
  @Field(() => String, { nullable: true, description: 'Free-text description.' }) description?: string | null;
}

@InputType({ description: 'What updateGroup and updateServiceAccount change; absent fields stay as they are.' })
export class UpdateNamedEntityInput {
  @Field(() => String, { nullable: true, description: 'Display name; null: unchanged.' }) name?: string | null;
  @Field(() => String, { nullable: true, description: 'null: cleared.' }) description?: string | null;
}

@InputType({ description: 'A new service account (createServiceAccount); give it rights with bindings and tokens with createApiToken.' })
export class CreateServiceAccountInput {
  @Field(() => ID, { description: 'Service account id: ^[a-z0-9]+(-[a-z0-9]+)*$, at most 63; an id once used cannot be used again.' })
  id!: string;
  @Field(() => String, { nullable: true, description: 'Display name; defaults to the id.' }) name?: string | null;
  @Field(() => String, { nullable: true, description: 'Free-text description.' }) description?: string | null;
}

@InputType({ description: 'A new API token (createApiToken) for yourself or a service account of the tenant.' })
export class CreateApiTokenInput {
  @Field(() => ID, { description: 'Your own user id, or a service account of the tenant.' }) principalId!: string;
  @Field(() => String, { description: 'Token name: ^[a-z0-9]+(-[a-z0-9]+)*$' }) name!: string;
  @Field(() => Int, { nullable: true, description: 'Lifetime in seconds (60 to 5 years); absent: never expires.' }) expiresIn?:
    number | null;
  @Field(() => PrincipalTypeEnum, {
    nullable: true,
    description: 'USER or SERVICE_ACCOUNT. Absent: USER when principalId is you or on the instance endpoint, else SERVICE_ACCOUNT.',
  })
  principalType?: PrincipalTypeEnum | null;
}
