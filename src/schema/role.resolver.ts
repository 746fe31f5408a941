import { Arg, Ctx, ID, Int, Mutation, Query, Resolver } from 'type-graphql';
import { CreateRoleInput, UpdateRoleInput } from './access.input.js';
import { Role } from './access.type.js';
import { reached, requireTenant, type GraphQLContext } from './context.js';
import { DateTimeScalar } from './scalars.js';

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

  @Mutation(() => Role, { nullable: true })
  async createRole(@Arg('input', () => CreateRoleInput) input: CreateRoleInput, @Ctx() ctx: GraphQLContext) {
    return reached(
      ctx,
      await ctx.services.roles.create(ctx.caller, requireTenant(ctx), { ...input, permissions: input.permissions.map((p) => ({ ...p })) }),
    ).role;
  }

  @Mutation(() => Role, { nullable: true, description: 'Managed roles cannot be changed (BAD_USER_INPUT on id).' })
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

  @Mutation(() => Boolean, { nullable: true, description: 'CONFLICT while bindings use the role; managed roles: BAD_USER_INPUT.' })
  async deleteRole(
    @Arg('id', () => ID) id: string,
    @Arg('expectedRevision', () => Int, { nullable: true }) expectedRevision: number | null,
    @Ctx() ctx: GraphQLContext,
  ) {
    return reached(ctx, await ctx.services.roles.delete(ctx.caller, requireTenant(ctx), id, expectedRevision)).deleted;
  }
}
