import { Field, ID, InputType, Int } from 'type-graphql';
import { PrincipalTypeEnum } from './access.type.js';

@InputType()
export class PermissionInput {
  @Field(() => String, { description: 'TENANT NAMESPACE FLOW SECRET ROLE BINDING USER GROUP SERVICE_ACCOUNT AUDITLOG' }) resource!: string;
  @Field(() => [String], { description: 'VIEW LIST CREATE UPDATE DELETE (EXPORT for AUDITLOG, ESCALATE for BINDING)' }) actions!: string[];
}

@InputType()
export class CreateRoleInput {
  @Field(() => ID) id!: string;
  @Field(() => String, { nullable: true, description: 'Display name; defaults to the id.' }) name?: string | null;
  @Field(() => String, { nullable: true }) description?: string | null;
  @Field(() => [PermissionInput]) permissions!: PermissionInput[];
}

@InputType()
export class UpdateRoleInput {
  @Field(() => String, { nullable: true }) name?: string | null;
  @Field(() => String, { nullable: true }) description?: string | null;
  @Field(() => [PermissionInput], { nullable: true, description: 'Replaces the whole list.' }) permissions?: PermissionInput[] | null;
}

@InputType()
export class CreateBindingInput {
  @Field(() => PrincipalTypeEnum) principalType!: PrincipalTypeEnum;
  @Field(() => ID) principalId!: string;
  @Field(() => ID) roleId!: string;
  @Field(() => String, { nullable: true, description: 'Limits the binding to this namespace and its children.' }) namespace?: string | null;
}

@InputType()
export class CreateGroupInput {
  @Field(() => ID) id!: string;
  @Field(() => String, { nullable: true, description: 'Display name; defaults to the id.' }) name?: string | null;
  @Field(() => String, { nullable: true }) description?: string | null;
}

@InputType({ description: 'What updateGroup and updateServiceAccount change; absent fields stay as they are.' })
export class UpdateNamedEntityInput {
  @Field(() => String, { nullable: true, description: 'Display name; null: unchanged.' }) name?: string | null;
  @Field(() => String, { nullable: true, description: 'null: cleared.' }) description?: string | null;
}

@InputType()
export class CreateServiceAccountInput {
  @Field(() => ID) id!: string;
  @Field(() => String, { nullable: true, description: 'Display name; defaults to the id.' }) name?: string | null;
  @Field(() => String, { nullable: true }) description?: string | null;
}

@InputType()
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
