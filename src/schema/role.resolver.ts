import { Arg, Ctx, ID, Int, Mutation, Query, Resolver } from 'type-graphql';
import { CreateRoleInput, UpdateRoleInput } from './access.input.js';
import { Role } from './access.type.js';
import { AS_OF, EXPECTED_REVISION } from './descriptions.js';
import { reached, requireTenant, type GraphQLContext } from './context.js';
import { DateTimeScalar } from './scalars.js';

@Resolver(() => Role)
export class RoleResolver {
  @Query(() => [Role], {
    description: 'The roles of the tenant with their permissions: managed roles first, then custom roles by id. Empty without ROLE:LIST.',
  })
  roles(@Ctx() ctx: GraphQLContext) {
    return ctx.services.roles.list(ctx.caller, requireTenant(ctx));
  }

  @Query(() => Role, {
    nullable: true,
    description:
      'One role, managed or custom; asOf: as it was then (replayed from its events). Null when there is none, or without ROLE:VIEW.',
  })
  role(
    @Arg('id', () => ID, { description: 'The role id.' }) id: string,
    @Arg('asOf', () => DateTimeScalar, { nullable: true, description: AS_OF }) asOf: Date | null,
    @Ctx() ctx: GraphQLContext,
  ) {
    return ctx.services.roles.get(ctx.caller, requireTenant(ctx), id, asOf);
  }

  @Mutation(() => Role, {
    nullable: true,
    description:
      'Needs ROLE:CREATE. CONFLICT when the id is taken (managed role ids included). Bindings that already name this id (left from a deleted role) must not grant more than you hold (else BINDING:ESCALATE).',
  })
  async createRole(
    @Arg('input', () => CreateRoleInput, { description: 'The role and its permissions.' }) input: CreateRoleInput,
    @Ctx() ctx: GraphQLContext,
  ) {
    return reached(
      ctx,
      await ctx.services.roles.create(ctx.caller, requireTenant(ctx), { ...input, permissions: input.permissions.map((p) => ({ ...p })) }),
    ).role;
  }

  @Mutation(() => Role, {
    nullable: true,
    description:
      'Needs ROLE:UPDATE; widening a bound role needs the rights it adds (or BINDING:ESCALATE). Managed roles cannot be changed (BAD_USER_INPUT on id).',
  })
  async updateRole(
    @Arg('id', () => ID, { description: 'The role id.' }) id: string,
    @Arg('input', () => UpdateRoleInput, { description: 'The fields to change.' }) input: UpdateRoleInput,
    @Arg('expectedRevision', () => Int, { nullable: true, description: EXPECTED_REVISION }) expectedRevision: number | null,
    @Ctx() ctx: GraphQLContext,
  ) {
    const patch = {
      ...(input.name != null ? { name: input.name } : {}),
      ...(input.description !== undefined ? { description: input.description } : {}),
      ...(input.permissions != null ? { permissions: input.permissions.map((p) => ({ ...p })) } : {}),
    };
    return reached(ctx, await ctx.services.roles.update(ctx.caller, requireTenant(ctx), id, patch, expectedRevision)).role;
  }

  @Mutation(() => Boolean, {
    nullable: true,
    description: 'Needs ROLE:DELETE. Answers true. CONFLICT while bindings use the role; managed roles: BAD_USER_INPUT.',
  })
  async deleteRole(
    @Arg('id', () => ID, { description: 'The role id.' }) id: string,
    @Arg('expectedRevision', () => Int, { nullable: true, description: EXPECTED_REVISION }) expectedRevision: number | null,
    @Ctx() ctx: GraphQLContext,
  ) {
    return reached(ctx, await ctx.services.roles.delete(ctx.caller, requireTenant(ctx), id, expectedRevision)).deleted;
  }
}
