import { Arg, Ctx, ID, Int, Mutation, Query, Resolver } from 'type-graphql';
import type { TokenPrincipalType } from '../aggregates/api-token/api-token.js';
import { badInput } from '../shared/errors.js';
import {
  CreateApiTokenInput,
  CreateBindingInput,
  CreateGroupInput,
  CreateRoleInput,
  CreateServiceAccountInput,
  UpdateNamedEntityInput,
  UpdateRoleInput,
} from './access.input.js';
import { ApiToken, Binding, CreatedApiToken, EffectivePermission, Group, PrincipalTypeEnum, Role, ServiceAccount } from './access.type.js';
import { reached, requireTenant, type GraphQLContext } from './context.js';
import { DateTimeScalar } from './scalars.js';

function tokenPrincipalType(value: PrincipalTypeEnum | null | undefined): TokenPrincipalType | null {
  if (value === null || value === undefined) return null;
  if (value === PrincipalTypeEnum.GROUP)
    throw badInput('principalType', 'groups have no API tokens: create one for a user or a service account');
  return value;
}

/** Only the fields the client sent: a null name means unchanged, a null description clears it. */
function namedEntityPatch(input: UpdateNamedEntityInput): { name?: string; description?: string | null } {
  return {
    ...(input.name != null ? { name: input.name } : {}),
    ...(input.description !== undefined ? { description: input.description } : {}),
  };
}

@Resolver(() => Role)
export class RoleResolver {
  @Query(() => [Role], { description: 'Managed roles first, then custom roles by id. Needs ROLE:LIST (else empty).' })
  roles(@Ctx() ctx: GraphQLContext) {
    return ctx.services.roles.list(ctx.caller, requireTenant(ctx));
  }

  @Query(() => Role, { nullable: true, description: 'Needs ROLE:VIEW. asOf: the role as it was then (replayed from its events).' })
  role(
    @Arg('id', () => ID) id: string,
    @Arg('asOf', () => DateTimeScalar, { nullable: true }) asOf: Date | null,
    @Ctx() ctx: GraphQLContext,
  ) {
    return ctx.services.roles.get(ctx.caller, requireTenant(ctx), id, asOf);
  }

  @Mutation(() => Role)
  async createRole(@Arg('input', () => CreateRoleInput) input: CreateRoleInput, @Ctx() ctx: GraphQLContext) {
    return reached(
      ctx,
      await ctx.services.roles.create(ctx.caller, requireTenant(ctx), { ...input, permissions: input.permissions.map((p) => ({ ...p })) }),
    ).role;
  }

  @Mutation(() => Role, { description: 'Managed roles cannot be changed (BAD_USER_INPUT on id).' })
  async updateRole(
    @Arg('id', () => ID) id: string,
    @Arg('input', () => UpdateRoleInput) input: UpdateRoleInput,
    @Arg('expectedRevision', () => Int, { nullable: true }) expectedRevision: number | null,
    @Ctx() ctx: GraphQLContext,
  ) {
    const patch = {
      ...(input.name != null ? { name: input.name } : {}),
      ...(input.description !== undefined ? { description: input.description } : {}),
      ...(input.permissions != null ? { permissions: input.permissions.map((p) => ({ ...p })) } : {}),
    };
    return reached(ctx, await ctx.services.roles.update(ctx.caller, requireTenant(ctx), id, patch, expectedRevision)).role;
  }

  @Mutation(() => Boolean, { description: 'CONFLICT while bindings use the role; managed roles: BAD_USER_INPUT.' })
  async deleteRole(
    @Arg('id', () => ID) id: string,
    @Arg('expectedRevision', () => Int, { nullable: true }) expectedRevision: number | null,
    @Ctx() ctx: GraphQLContext,
  ) {
    return reached(ctx, await ctx.services.roles.delete(ctx.caller, requireTenant(ctx), id, expectedRevision)).deleted;
  }
}

@Resolver(() => Binding)
export class BindingResolver {
  @Query(() => [Binding], { description: 'Needs BINDING:LIST (else empty). namespace: bindings on exactly that namespace.' })
  bindings(
    @Arg('principalId', () => ID, { nullable: true }) principalId: string | null,
    @Arg('roleId', () => ID, { nullable: true }) roleId: string | null,
    @Arg('namespace', () => String, { nullable: true }) namespace: string | null,
    @Ctx() ctx: GraphQLContext,
  ) {
    return ctx.services.bindings.list(ctx.caller, requireTenant(ctx), { principalId, roleId, namespace });
  }

  @Mutation(() => Binding, {
    description: 'The role must exist; so must the principal (users anywhere, groups and service accounts in this tenant).',
  })
  async createBinding(@Arg('input', () => CreateBindingInput) input: CreateBindingInput, @Ctx() ctx: GraphQLContext) {
    return reached(ctx, await ctx.services.bindings.create(ctx.caller, requireTenant(ctx), { ...input })).binding;
  }

  @Mutation(() => Boolean, { description: 'expectedRevision: the binding’s (1: bindings never change).' })
  async deleteBinding(
    @Arg('id', () => ID) id: string,
    @Arg('expectedRevision', () => Int, { nullable: true }) expectedRevision: number | null,
    @Ctx() ctx: GraphQLContext,
  ) {
    return reached(ctx, await ctx.services.bindings.delete(ctx.caller, requireTenant(ctx), id, expectedRevision)).deleted;
  }
}

@Resolver(() => Group)
export class GroupResolver {
  @Query(() => [Group], { description: 'Needs GROUP:LIST (else empty).' })
  groups(@Ctx() ctx: GraphQLContext) {
    return ctx.services.groups.list(ctx.caller, requireTenant(ctx));
  }

  @Query(() => Group, { nullable: true, description: 'Needs GROUP:VIEW.' })
  group(@Arg('id', () => ID) id: string, @Ctx() ctx: GraphQLContext) {
    return ctx.services.groups.get(ctx.caller, requireTenant(ctx), id);
  }

  @Mutation(() => Group)
  async createGroup(@Arg('input', () => CreateGroupInput) input: CreateGroupInput, @Ctx() ctx: GraphQLContext) {
    return reached(ctx, await ctx.services.groups.create(ctx.caller, requireTenant(ctx), { ...input })).group;
  }

  @Mutation(() => Group, { description: 'Needs GROUP:UPDATE: the display name and description.' })
  async updateGroup(
    @Arg('id', () => ID) id: string,
    @Arg('input', () => UpdateNamedEntityInput) input: UpdateNamedEntityInput,
    @Arg('expectedRevision', () => Int, { nullable: true }) expectedRevision: number | null,
    @Ctx() ctx: GraphQLContext,
  ) {
    return reached(ctx, await ctx.services.groups.update(ctx.caller, requireTenant(ctx), id, namedEntityPatch(input), expectedRevision))
      .group;
  }

  @Mutation(() => Group, { description: 'Needs GROUP:UPDATE. Its bindings grant its members nothing while disabled.' })
  async disableGroup(
    @Arg('id', () => ID) id: string,
    @Arg('expectedRevision', () => Int, { nullable: true }) expectedRevision: number | null,
    @Ctx() ctx: GraphQLContext,
  ) {
    return reached(ctx, await ctx.services.groups.disable(ctx.caller, requireTenant(ctx), id, expectedRevision)).group;
  }

  @Mutation(() => Group, {
    description:
      'Needs GROUP:UPDATE, and, when bindings name the group, BINDING:CREATE and every right they grant (or BINDING:ESCALATE), as creating them would.',
  })
  async enableGroup(
    @Arg('id', () => ID) id: string,
    @Arg('expectedRevision', () => Int, { nullable: true }) expectedRevision: number | null,
    @Ctx() ctx: GraphQLContext,
  ) {
    return reached(ctx, await ctx.services.groups.enable(ctx.caller, requireTenant(ctx), id, expectedRevision)).group;
  }

  @Mutation(() => Boolean, {
    description:
      'Needs GROUP:DELETE (and BINDING:DELETE when bindings name it). Deletes its bindings and memberships, each in the audit log; its id cannot be used again.',
  })
  async deleteGroup(
    @Arg('id', () => ID) id: string,
    @Arg('expectedRevision', () => Int, { nullable: true }) expectedRevision: number | null,
    @Ctx() ctx: GraphQLContext,
  ) {
    return reached(ctx, await ctx.services.groups.delete(ctx.caller, requireTenant(ctx), id, expectedRevision)).deleted;
  }

  @Mutation(() => Group, { description: 'Needs GROUP:UPDATE. Adding a member twice changes nothing. expectedRevision: the group’s.' })
  async addGroupMember(
    @Arg('groupId', () => ID) groupId: string,
    @Arg('userId', () => ID) userId: string,
    @Arg('expectedRevision', () => Int, { nullable: true }) expectedRevision: number | null,
    @Ctx() ctx: GraphQLContext,
  ) {
    return reached(ctx, await ctx.services.groups.addMember(ctx.caller, requireTenant(ctx), groupId, userId, expectedRevision)).group;
  }

  @Mutation(() => Group, {
    description: 'Needs GROUP:UPDATE. The member loses what the group granted at once. expectedRevision: the group’s.',
  })
  async removeGroupMember(
    @Arg('groupId', () => ID) groupId: string,
    @Arg('userId', () => ID) userId: string,
    @Arg('expectedRevision', () => Int, { nullable: true }) expectedRevision: number | null,
    @Ctx() ctx: GraphQLContext,
  ) {
    return reached(ctx, await ctx.services.groups.removeMember(ctx.caller, requireTenant(ctx), groupId, userId, expectedRevision)).group;
  }
}

@Resolver(() => ServiceAccount)
export class ServiceAccountResolver {
  @Query(() => [ServiceAccount], { description: 'Needs SERVICE_ACCOUNT:LIST (else empty).' })
  serviceAccounts(@Ctx() ctx: GraphQLContext) {
    return ctx.services.serviceAccounts.list(ctx.caller, requireTenant(ctx));
  }

  @Query(() => ServiceAccount, { nullable: true, description: 'Needs SERVICE_ACCOUNT:VIEW.' })
  serviceAccount(@Arg('id', () => ID) id: string, @Ctx() ctx: GraphQLContext) {
    return ctx.services.serviceAccounts.get(ctx.caller, requireTenant(ctx), id);
  }

  @Mutation(() => ServiceAccount)
  async createServiceAccount(@Arg('input', () => CreateServiceAccountInput) input: CreateServiceAccountInput, @Ctx() ctx: GraphQLContext) {
    return reached(ctx, await ctx.services.serviceAccounts.create(ctx.caller, requireTenant(ctx), { ...input })).serviceAccount;
  }

  @Mutation(() => ServiceAccount, { description: 'Needs SERVICE_ACCOUNT:UPDATE: the display name and description.' })
  async updateServiceAccount(
    @Arg('id', () => ID) id: string,
    @Arg('input', () => UpdateNamedEntityInput) input: UpdateNamedEntityInput,
    @Arg('expectedRevision', () => Int, { nullable: true }) expectedRevision: number | null,
    @Ctx() ctx: GraphQLContext,
  ) {
    const patch = namedEntityPatch(input);
    return reached(ctx, await ctx.services.serviceAccounts.update(ctx.caller, requireTenant(ctx), id, patch, expectedRevision))
      .serviceAccount;
  }

  @Mutation(() => ServiceAccount, {
    description:
      'Needs SERVICE_ACCOUNT:UPDATE. Its tokens stop authenticating at once and its live sessions end; tokens and bindings stay.',
  })
  async disableServiceAccount(
    @Arg('id', () => ID) id: string,
    @Arg('expectedRevision', () => Int, { nullable: true }) expectedRevision: number | null,
    @Ctx() ctx: GraphQLContext,
  ) {
    return reached(ctx, await ctx.services.serviceAccounts.disable(ctx.caller, requireTenant(ctx), id, expectedRevision)).serviceAccount;
  }

  @Mutation(() => ServiceAccount, {
    description:
      'Needs SERVICE_ACCOUNT:UPDATE, and, when bindings name it, BINDING:CREATE and every right they grant (or BINDING:ESCALATE).',
  })
  async enableServiceAccount(
    @Arg('id', () => ID) id: string,
    @Arg('expectedRevision', () => Int, { nullable: true }) expectedRevision: number | null,
    @Ctx() ctx: GraphQLContext,
  ) {
    return reached(ctx, await ctx.services.serviceAccounts.enable(ctx.caller, requireTenant(ctx), id, expectedRevision)).serviceAccount;
  }

  @Mutation(() => Boolean, {
    description: 'Needs SERVICE_ACCOUNT:DELETE. Its tokens stop working at once; its id cannot be used again.',
  })
  async deleteServiceAccount(
    @Arg('id', () => ID) id: string,
    @Arg('expectedRevision', () => Int, { nullable: true }) expectedRevision: number | null,
    @Ctx() ctx: GraphQLContext,
  ) {
    return reached(ctx, await ctx.services.serviceAccounts.delete(ctx.caller, requireTenant(ctx), id, expectedRevision)).deleted;
  }
}

@Resolver(() => ApiToken)
export class ApiTokenResolver {
  @Query(() => [ApiToken], {
    description:
      'Tenant endpoint: the service-account tokens (SERVICE_ACCOUNT:LIST). Instance endpoint: your own tokens (instance admins: every user token).',
  })
  apiTokens(@Arg('principalId', () => ID, { nullable: true }) principalId: string | null, @Ctx() ctx: GraphQLContext) {
    return ctx.services.apiTokens.list(ctx.caller, ctx.tenantId, principalId);
  }

  @Mutation(() => CreatedApiToken, {
    description:
      'Your own token (any endpoint), or a service account token (tenant endpoint, SERVICE_ACCOUNT:UPDATE). The token is shown once.',
  })
  async createApiToken(@Arg('input', () => CreateApiTokenInput) input: CreateApiTokenInput, @Ctx() ctx: GraphQLContext) {
    const data = { ...input, principalType: tokenPrincipalType(input.principalType) };
    return reached(ctx, await ctx.services.apiTokens.create(ctx.caller, ctx.tenantId, data)).token;
  }

  @Mutation(() => Boolean, { description: 'Refused from then on. Revoking twice is a no-op.' })
  async revokeApiToken(
    @Arg('id', () => ID) id: string,
    @Arg('expectedRevision', () => Int, { nullable: true }) expectedRevision: number | null,
    @Ctx() ctx: GraphQLContext,
  ) {
    return reached(ctx, await ctx.services.apiTokens.revoke(ctx.caller, ctx.tenantId, id, expectedRevision)).revoked;
  }
}

@Resolver(() => EffectivePermission)
export class EffectivePermissionResolver {
  @Query(() => [EffectivePermission], {
    description:
      'What a principal may do in this tenant and through which binding or group; asOf replays the log. Needs BINDING:LIST unless it is you.',
  })
  effectivePermissions(
    @Arg('principalId', () => ID) principalId: string,
    @Arg('namespace', () => String, { nullable: true }) namespace: string | null,
    @Arg('asOf', () => DateTimeScalar, { nullable: true }) asOf: Date | null,
    @Arg('principalType', () => PrincipalTypeEnum, {
      nullable: true,
      description: 'Absent: a user if one has this id, else a service account, else a group.',
    })
    type: PrincipalTypeEnum | null,
    @Ctx() ctx: GraphQLContext,
  ) {
    return ctx.services.effectivePermissions.list(ctx.caller, requireTenant(ctx), {
      principalId,
      namespace,
      asOf,
      principalType: type,
    });
  }
}
