import { Arg, Ctx, ID, Int, Mutation, Query, Resolver } from 'type-graphql';
import { CreateGroupInput, UpdateNamedEntityInput } from './access.input.js';
import { Group } from './access.type.js';
import { EXPECTED_REVISION } from './descriptions.js';
import { reached, requireTenant, type GraphQLContext } from './context.js';
import { namedEntityPatch } from './named-entity.js';

@Resolver(() => Group)
export class GroupResolver {
  @Query(() => [Group], { description: 'The groups of the tenant, by id, with their members. Empty without GROUP:LIST (tenant-wide).' })
  groups(@Ctx() ctx: GraphQLContext) {
    return ctx.services.groups.list(ctx.caller, requireTenant(ctx));
  }

  @Query(() => Group, {
    nullable: true,
    description: 'One group of the tenant with its members. Null when there is none, or without GROUP:VIEW (tenant-wide).',
  })
  group(@Arg('id', () => ID, { description: 'The group id.' }) id: string, @Ctx() ctx: GraphQLContext) {
    return ctx.services.groups.get(ctx.caller, requireTenant(ctx), id);
  }

  @Mutation(() => Group, {
    nullable: true,
    description: 'Needs GROUP:CREATE. A group starts empty and enabled. CONFLICT when the id is taken or was used by a deleted group.',
  })
  async createGroup(
    @Arg('input', () => CreateGroupInput, { description: 'The new group.' }) input: CreateGroupInput,
    @Ctx() ctx: GraphQLContext,
  ) {
    return reached(ctx, await ctx.services.groups.create(ctx.caller, requireTenant(ctx), { ...input })).group;
  }

  @Mutation(() => Group, { nullable: true, description: 'Needs GROUP:UPDATE: the display name and description.' })
  async updateGroup(
    @Arg('id', () => ID, { description: 'The group id.' }) id: string,
    @Arg('input', () => UpdateNamedEntityInput, { description: 'The fields to change.' }) input: UpdateNamedEntityInput,
    @Arg('expectedRevision', () => Int, { nullable: true, description: EXPECTED_REVISION }) expectedRevision: number | null,
    @Ctx() ctx: GraphQLContext,
  ) {
    return reached(ctx, await ctx.services.groups.update(ctx.caller, requireTenant(ctx), id, namedEntityPatch(input), expectedRevision))
      .group;
  }

  @Mutation(() => Group, { nullable: true, description: 'Needs GROUP:UPDATE. Its bindings grant its members nothing while disabled.' })
  async disableGroup(
    @Arg('id', () => ID, { description: 'The group id.' }) id: string,
    @Arg('expectedRevision', () => Int, { nullable: true, description: EXPECTED_REVISION }) expectedRevision: number | null,
    @Ctx() ctx: GraphQLContext,
  ) {
    return reached(ctx, await ctx.services.groups.disable(ctx.caller, requireTenant(ctx), id, expectedRevision)).group;
  }

  @Mutation(() => Group, {
    nullable: true,
    description:
      'Needs GROUP:UPDATE, and, when bindings name the group, BINDING:CREATE and every right they grant (or BINDING:ESCALATE), as creating them would.',
  })
  async enableGroup(
    @Arg('id', () => ID, { description: 'The group id.' }) id: string,
    @Arg('expectedRevision', () => Int, { nullable: true, description: EXPECTED_REVISION }) expectedRevision: number | null,
    @Ctx() ctx: GraphQLContext,
  ) {
    return reached(ctx, await ctx.services.groups.enable(ctx.caller, requireTenant(ctx), id, expectedRevision)).group;
  }

  @Mutation(() => Boolean, {
    nullable: true,
    description:
      'Needs GROUP:DELETE (and BINDING:DELETE when bindings name it). Deletes its bindings and memberships, each in the audit log; its id cannot be used again.',
  })
  async deleteGroup(
    @Arg('id', () => ID, { description: 'The group id.' }) id: string,
    @Arg('expectedRevision', () => Int, { nullable: true, description: EXPECTED_REVISION }) expectedRevision: number | null,
    @Ctx() ctx: GraphQLContext,
  ) {
    return reached(ctx, await ctx.services.groups.delete(ctx.caller, requireTenant(ctx), id, expectedRevision)).deleted;
  }

  @Mutation(() => Group, {
    nullable: true,
    description: 'Needs GROUP:UPDATE. Adding a member twice changes nothing. expectedRevision: the group’s.',
  })
  async addGroupMember(
    @Arg('groupId', () => ID, { description: 'The group id.' }) groupId: string,
    @Arg('userId', () => ID, { description: 'The user id (any user of the instance).' }) userId: string,
    @Arg('expectedRevision', () => Int, { nullable: true, description: EXPECTED_REVISION }) expectedRevision: number | null,
    @Ctx() ctx: GraphQLContext,
  ) {
    return reached(ctx, await ctx.services.groups.addMember(ctx.caller, requireTenant(ctx), groupId, userId, expectedRevision)).group;
  }

  @Mutation(() => Group, {
    nullable: true,
    description: 'Needs GROUP:UPDATE. The member loses what the group granted at once. expectedRevision: the group’s.',
  })
  async removeGroupMember(
    @Arg('groupId', () => ID, { description: 'The group id.' }) groupId: string,
    @Arg('userId', () => ID, { description: 'The user id (any user of the instance).' }) userId: string,
    @Arg('expectedRevision', () => Int, { nullable: true, description: EXPECTED_REVISION }) expectedRevision: number | null,
    @Ctx() ctx: GraphQLContext,
  ) {
    return reached(ctx, await ctx.services.groups.removeMember(ctx.caller, requireTenant(ctx), groupId, userId, expectedRevision)).group;
  }
}
