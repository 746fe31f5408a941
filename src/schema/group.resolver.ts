import { Arg, Ctx, ID, Int, Mutation, Query, Resolver } from 'type-graphql';
import { CreateGroupInput, UpdateNamedEntityInput } from './access.input.js';
import { Group } from './access.type.js';
import { reached, requireTenant, type GraphQLContext } from './context.js';
import { namedEntityPatch } from './named-entity.js';

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

  @Mutation(() => Group, { nullable: true })
  async createGroup(@Arg('input', () => CreateGroupInput) input: CreateGroupInput, @Ctx() ctx: GraphQLContext) {
    return reached(ctx, await ctx.services.groups.create(ctx.caller, requireTenant(ctx), { ...input })).group;
  }

  @Mutation(() => Group, { nullable: true, description: 'Needs GROUP:UPDATE: the display name and description.' })
  async updateGroup(
    @Arg('id', () => ID) id: string,
    @Arg('input', () => UpdateNamedEntityInput) input: UpdateNamedEntityInput,
    @Arg('expectedRevision', () => Int, { nullable: true }) expectedRevision: number | null,
    @Ctx() ctx: GraphQLContext,
  ) {
    return reached(ctx, await ctx.services.groups.update(ctx.caller, requireTenant(ctx), id, namedEntityPatch(input), expectedRevision))
      .group;
  }

  @Mutation(() => Group, { nullable: true, description: 'Needs GROUP:UPDATE. Its bindings grant its members nothing while disabled.' })
  async disableGroup(
    @Arg('id', () => ID) id: string,
    @Arg('expectedRevision', () => Int, { nullable: true }) expectedRevision: number | null,
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
    @Arg('id', () => ID) id: string,
    @Arg('expectedRevision', () => Int, { nullable: true }) expectedRevision: number | null,
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
    @Arg('id', () => ID) id: string,
    @Arg('expectedRevision', () => Int, { nullable: true }) expectedRevision: number | null,
    @Ctx() ctx: GraphQLContext,
  ) {
    return reached(ctx, await ctx.services.groups.delete(ctx.caller, requireTenant(ctx), id, expectedRevision)).deleted;
  }

  @Mutation(() => Group, {
    nullable: true,
    description: 'Needs GROUP:UPDATE. Adding a member twice changes nothing. expectedRevision: the group’s.',
  })
  async addGroupMember(
    @Arg('groupId', () => ID) groupId: string,
    @Arg('userId', () => ID) userId: string,
    @Arg('expectedRevision', () => Int, { nullable: true }) expectedRevision: number | null,
    @Ctx() ctx: GraphQLContext,
  ) {
    return reached(ctx, await ctx.services.groups.addMember(ctx.caller, requireTenant(ctx), groupId, userId, expectedRevision)).group;
  }

  @Mutation(() => Group, {
    nullable: true,
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
