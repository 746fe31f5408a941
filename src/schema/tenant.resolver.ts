import { Arg, Ctx, ID, Int, Mutation, Query, Resolver } from 'type-graphql';
import { reached, type GraphQLContext } from './context.js';
import { CreateTenantInput, UpdateTenantInput } from './tenant.input.js';
import { Tenant } from './tenant.type.js';

@Resolver(() => Tenant)
export class TenantResolver {
  @Query(() => [Tenant], { description: 'Instance admins see every tenant; others the tenants they are bound in.' })
  tenants(@Arg('includeDeleted', () => Boolean, { defaultValue: false }) includeDeleted: boolean, @Ctx() ctx: GraphQLContext) {
    return ctx.services.tenants.list(ctx.caller, includeDeleted);
  }

  @Query(() => Tenant, { nullable: true })
  tenant(@Arg('id', () => ID) id: string, @Ctx() ctx: GraphQLContext) {
    return ctx.services.tenants.get(ctx.caller, id);
  }

  @Mutation(() => Tenant, { nullable: true })
  async createTenant(@Arg('input', () => CreateTenantInput) input: CreateTenantInput, @Ctx() ctx: GraphQLContext) {
    return reached(ctx, await ctx.services.tenants.create(ctx.caller, { ...input })).tenant;
  }

  @Mutation(() => Tenant, { nullable: true })
  async updateTenant(
    @Arg('id', () => ID) id: string,
    @Arg('input', () => UpdateTenantInput) input: UpdateTenantInput,
    @Arg('expectedRevision', () => Int, { nullable: true }) expectedRevision: number | null,
    @Ctx() ctx: GraphQLContext,
  ) {
    return reached(ctx, await ctx.services.tenants.update(ctx.caller, id, { ...input }, expectedRevision)).tenant;
  }

  @Mutation(() => Tenant, { nullable: true, description: 'Soft delete; `main` cannot be deleted.' })
  async deleteTenant(
    @Arg('id', () => ID) id: string,
    @Arg('expectedRevision', () => Int, { nullable: true }) expectedRevision: number | null,
    @Ctx() ctx: GraphQLContext,
  ) {
    return reached(ctx, await ctx.services.tenants.delete(ctx.caller, id, expectedRevision)).tenant;
  }

  @Mutation(() => Tenant, {
    nullable: true,
    description: 'expectedRevision is checked before anything is touched (the data key included).',
  })
  async restoreTenant(
    @Arg('id', () => ID) id: string,
    @Arg('expectedRevision', () => Int, { nullable: true }) expectedRevision: number | null,
    @Ctx() ctx: GraphQLContext,
  ) {
    return reached(ctx, await ctx.services.tenants.restore(ctx.caller, id, expectedRevision)).tenant;
  }
}
