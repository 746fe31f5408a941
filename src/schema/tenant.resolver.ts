import { Arg, Ctx, ID, Int, Mutation, Query, Resolver } from 'type-graphql';
import { reached, type GraphQLContext } from './context.js';
import { EXPECTED_REVISION } from './descriptions.js';
import { CreateTenantInput, UpdateTenantInput } from './tenant.input.js';
import { Tenant } from './tenant.type.js';

@Resolver(() => Tenant)
export class TenantResolver {
  @Query(() => [Tenant], { description: 'Instance admins see every tenant; others the tenants they are bound in.' })
  tenants(
    @Arg('includeDeleted', () => Boolean, { defaultValue: false, description: 'Include soft-deleted tenants.' }) includeDeleted: boolean,
    @Ctx() ctx: GraphQLContext,
  ) {
    return ctx.services.tenants.list(ctx.caller, includeDeleted);
  }

  @Query(() => Tenant, {
    nullable: true,
    description: 'One tenant, deleted or not: instance admins read any, others a tenant they are bound in. Null when there is none.',
  })
  tenant(@Arg('id', () => ID, { description: 'The tenant id.' }) id: string, @Ctx() ctx: GraphQLContext) {
    return ctx.services.tenants.get(ctx.caller, id);
  }

  @Mutation(() => Tenant, {
    nullable: true,
    description:
      'Instance admins; or, with self-service tenants on (TENANTRY_SELF_SERVICE_TENANTS), any user, who becomes its admin. Creates the managed roles and, with adminUserId, binds that user as admin.',
  })
  async createTenant(
    @Arg('input', () => CreateTenantInput, { description: 'The new tenant.' }) input: CreateTenantInput,
    @Ctx() ctx: GraphQLContext,
  ) {
    return reached(ctx, await ctx.services.tenants.create(ctx.caller, { ...input })).tenant;
  }

  @Mutation(() => Tenant, {
    nullable: true,
    description:
      "Instance admins, or the tenant's own admins (TENANT:UPDATE) for its name and settings; domains are the instance admins' to change.",
  })
  async updateTenant(
    @Arg('id', () => ID, { description: 'The tenant to change.' }) id: string,
    @Arg('input', () => UpdateTenantInput, { description: 'The fields to change.' }) input: UpdateTenantInput,
    @Arg('expectedRevision', () => Int, { nullable: true, description: EXPECTED_REVISION }) expectedRevision: number | null,
    @Ctx() ctx: GraphQLContext,
  ) {
    return reached(ctx, await ctx.services.tenants.update(ctx.caller, id, { ...input }, expectedRevision)).tenant;
  }

  @Mutation(() => Tenant, {
    nullable: true,
    description:
      "Instance admins only. Soft delete: the tenant answers TENANT_NOT_FOUND from then on, and its secrets' values are crypto-shredded (restoreTenant brings back everything else). `main` cannot be deleted.",
  })
  async deleteTenant(
    @Arg('id', () => ID, { description: 'The tenant to delete.' }) id: string,
    @Arg('expectedRevision', () => Int, { nullable: true, description: EXPECTED_REVISION }) expectedRevision: number | null,
    @Ctx() ctx: GraphQLContext,
  ) {
    return reached(ctx, await ctx.services.tenants.delete(ctx.caller, id, expectedRevision)).tenant;
  }

  @Mutation(() => Tenant, {
    nullable: true,
    description:
      'Instance admins only. Brings a deleted tenant back, without its secret values (shredded at deletion). expectedRevision is checked before anything is touched (the data key included).',
  })
  async restoreTenant(
    @Arg('id', () => ID, { description: 'The deleted tenant to bring back.' }) id: string,
    @Arg('expectedRevision', () => Int, { nullable: true, description: EXPECTED_REVISION }) expectedRevision: number | null,
    @Ctx() ctx: GraphQLContext,
  ) {
    return reached(ctx, await ctx.services.tenants.restore(ctx.caller, id, expectedRevision)).tenant;
  }
}
