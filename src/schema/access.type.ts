import { Field, ID, Int, ObjectType, registerEnumType } from 'type-graphql';
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
});

@ObjectType({ description: 'RESOURCE and the actions a role allows on it.' })
export class Permission {
  @Field(() => String) resource!: string;
  @Field(() => [String]) actions!: string[];
}

@ObjectType({
  description: 'A named set of permissions. Managed roles (admin, developer, editor, viewer) exist in every tenant and cannot be changed.',
})
export class Role {
  @Field(() => ID) id!: string;
  @Field(() => String) name!: string;
  @Field(() => String, { nullable: true }) description!: string | null;
  @Field(() => [Permission]) permissions!: Permission[];
  @Field(() => Boolean) managed!: boolean;
  @Field(() => Int, { description: 'Events in the role stream; 0 for managed roles.' }) revision!: number;
  @Field(() => DateTimeScalar, { nullable: true }) createdAt!: string | null;
  @Field(() => DateTimeScalar, { nullable: true }) updatedAt!: string | null;
}

@ObjectType({ description: 'A principal holds a role, tenant-wide or on a namespace and its subtree. Immutable: delete and recreate.' })
export class Binding {
  @Field(() => ID) id!: string;
  @Field(() => PrincipalTypeEnum) principalType!: PrincipalTypeEnum;
  @Field(() => ID) principalId!: string;
  @Field(() => ID) roleId!: string;
  @Field(() => String, { nullable: true, description: 'null: tenant-wide.' }) namespace!: string | null;
  @Field(() => Int, { description: 'Events in the binding stream: always 1 while it exists (bindings never change); for deleteBinding.' })
  revision!: number;
  @Field(() => DateTimeScalar) createdAt!: string;
  @Field(() => String) createdBy!: string;
}

@ObjectType({ description: 'Users of one tenant; members inherit the group’s bindings.' })
export class Group {
  @Field(() => ID) id!: string;
  @Field(() => String) name!: string;
  @Field(() => String, { nullable: true }) description!: string | null;
  @Field(() => [ID], { description: 'User ids.' }) members!: string[];
  @Field(() => Boolean, { description: 'A disabled group’s bindings grant its members nothing until it is enabled.' }) disabled!: boolean;
  @Field(() => Int, { description: 'Events in the group stream: pass it as expectedRevision.' }) revision!: number;
  @Field(() => DateTimeScalar, { nullable: true }) createdAt!: string | null;
  @Field(() => DateTimeScalar, { nullable: true }) updatedAt!: string | null;
}

@ObjectType({ description: 'A non-human principal of one tenant; it authenticates with API tokens.' })
export class ServiceAccount {
  @Field(() => ID) id!: string;
  @Field(() => String) name!: string;
  @Field(() => String, { nullable: true }) description!: string | null;
  @Field(() => Boolean, { description: 'A disabled service account’s tokens do not authenticate until it is enabled.' }) disabled!: boolean;
  @Field(() => Int, { description: 'Events in the service account stream: pass it as expectedRevision.' }) revision!: number;
  @Field(() => DateTimeScalar) createdAt!: string;
  @Field(() => String) createdBy!: string;
  @Field(() => DateTimeScalar, { nullable: true }) updatedAt!: string | null;
}

@ObjectType({ description: 'An API token without its secret.' })
export class ApiToken {
  @Field(() => ID) id!: string;
  @Field(() => String) name!: string;
  @Field(() => PrincipalTypeEnum) principalType!: PrincipalTypeEnum;
  @Field(() => ID) principalId!: string;
  @Field(() => DateTimeScalar, { nullable: true, description: 'null: never expires.' }) expiresAt!: string | null;
  @Field(() => DateTimeScalar) createdAt!: string;
  @Field(() => String) createdBy!: string;
  @Field(() => DateTimeScalar, { nullable: true, description: 'Recorded at most once a minute.' }) lastUsedAt!: string | null;
  @Field(() => Boolean) revoked!: boolean;
  @Field(() => DateTimeScalar, { nullable: true }) revokedAt!: string | null;
  @Field(() => Int, { description: 'Events in the token stream: 1, or 2 once revoked; for revokeApiToken.' }) revision!: number;
}

@ObjectType({ description: 'A new API token. `token` is shown here once and never again: only a salted hash is kept.' })
export class CreatedApiToken extends ApiToken {
  @Field(() => String, { description: 'The bearer token: `Authorization: Bearer <token>`.' }) token!: string;
}

@ObjectType({ description: 'One permission a principal holds, and what grants it.' })
export class EffectivePermission {
  @Field(() => String) resource!: string;
  @Field(() => String) action!: string;
  @Field(() => String, { nullable: true, description: 'null: tenant-wide; else this namespace and its subtree.' }) namespace!:
    string | null;
  @Field(() => String, { description: '`binding:<id>`, `group:<id> binding:<id>`, or `instance-admin`.' }) via!: string;
}
