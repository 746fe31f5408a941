import { Arg, Ctx, ID, Int, Mutation, Query, Resolver } from 'type-graphql';
import { CreateServiceAccountInput, UpdateNamedEntityInput } from './access.input.js';
import { ServiceAccount } from './access.type.js';
import { EXPECTED_REVISION } from './descriptions.js';
import { reached, requireTenant, type GraphQLContext } from './context.js';
import { namedEntityPatch } from './named-entity.js';

@Resolver(() => ServiceAccount)
export class ServiceAccountResolver {
  @Query(() => [ServiceAccount], {
    description: 'The service accounts of the tenant, by id. Empty without SERVICE_ACCOUNT:LIST (tenant-wide).',
  })
  serviceAccounts(@Ctx() ctx: GraphQLContext) {
    return ctx.services.serviceAccounts.list(ctx.caller, requireTenant(ctx));
  }

  @Query(() => ServiceAccount, {
    nullable: true,
    description: 'One service account of the tenant. Null when there is none, or without SERVICE_ACCOUNT:VIEW (tenant-wide).',
  })
  serviceAccount(@Arg('id', () => ID, { description: 'The service account id.' }) id: string, @Ctx() ctx: GraphQLContext) {
    return ctx.services.serviceAccounts.get(ctx.caller, requireTenant(ctx), id);
  }

  @Mutation(() => ServiceAccount, {
    nullable: true,
    description:
      'Needs SERVICE_ACCOUNT:CREATE. It has no rights and no tokens yet: bind a role to it and create a token with createApiToken. CONFLICT when the id is taken or was used before.',
  })
  async createServiceAccount(
    @Arg('input', () => CreateServiceAccountInput, { description: 'The new service account.' }) input: CreateServiceAccountInput,
    @Ctx() ctx: GraphQLContext,
  ) {
    return reached(ctx, await ctx.services.serviceAccounts.create(ctx.caller, requireTenant(ctx), { ...input })).serviceAccount;
  }

  @Mutation(() => ServiceAccount, { nullable: true, description: 'Needs SERVICE_ACCOUNT:UPDATE: the display name and description.' })
  async updateServiceAccount(
    @Arg('id', () => ID, { description: 'The service account id.' }) id: string,
    @Arg('input', () => UpdateNamedEntityInput, { description: 'The fields to change.' }) input: UpdateNamedEntityInput,
    @Arg('expectedRevision', () => Int, { nullable: true, description: EXPECTED_REVISION }) expectedRevision: number | null,
    @Ctx() ctx: GraphQLContext,
  ) {
    const patch = namedEntityPatch(input);
    return reached(ctx, await ctx.services.serviceAccounts.update(ctx.caller, requireTenant(ctx), id, patch, expectedRevision))
      .serviceAccount;
  }

  @Mutation(() => ServiceAccount, {
    nullable: true,
    description:
      'Needs SERVICE_ACCOUNT:UPDATE. Its tokens stop authenticating at once and its live sessions end; tokens and bindings stay.',
  })
  async disableServiceAccount(
    @Arg('id', () => ID, { description: 'The service account id.' }) id: string,
    @Arg('expectedRevision', () => Int, { nullable: true, description: EXPECTED_REVISION }) expectedRevision: number | null,
    @Ctx() ctx: GraphQLContext,
  ) {
    return reached(ctx, await ctx.services.serviceAccounts.disable(ctx.caller, requireTenant(ctx), id, expectedRevision)).serviceAccount;
  }

  @Mutation(() => ServiceAccount, {
    nullable: true,
    description:
      'Needs SERVICE_ACCOUNT:UPDATE, and, when bindings name it, BINDING:CREATE and every right they grant (or BINDING:ESCALATE).',
  })
  async enableServiceAccount(
    @Arg('id', () => ID, { description: 'The service account id.' }) id: string,
    @Arg('expectedRevision', () => Int, { nullable: true, description: EXPECTED_REVISION }) expectedRevision: number | null,
    @Ctx() ctx: GraphQLContext,
  ) {
    return reached(ctx, await ctx.services.serviceAccounts.enable(ctx.caller, requireTenant(ctx), id, expectedRevision)).serviceAccount;
  }

  @Mutation(() => Boolean, {
    nullable: true,
    description: 'Needs SERVICE_ACCOUNT:DELETE. Its tokens stop working at once; its id cannot be used again.',
  })
  async deleteServiceAccount(
    @Arg('id', () => ID, { description: 'The service account id.' }) id: string,
    @Arg('expectedRevision', () => Int, { nullable: true, description: EXPECTED_REVISION }) expectedRevision: number | null,
    @Ctx() ctx: GraphQLContext,
  ) {
    return reached(ctx, await ctx.services.serviceAccounts.delete(ctx.caller, requireTenant(ctx), id, expectedRevision)).deleted;
  }
}
