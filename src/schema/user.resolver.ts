import { Arg, Ctx, ID, Int, Query, Resolver, Mutation } from 'type-graphql';
import { effectivePermissionViews } from '../application/effective-permissions.js';
import { EXPECTED_REVISION } from './descriptions.js';
import { reached, type GraphQLContext } from './context.js';
import { CreateUserInput, UpdateUserInput } from './user.input.js';
import { Me, PrincipalKind, User } from './user.type.js';

@Resolver()
export class UserResolver {
  @Query(() => Me, { description: 'The caller, and the tenants where it holds rights, with its effective permissions there.' })
  async me(@Ctx() ctx: GraphQLContext): Promise<Me> {
    const principal = ctx.caller.authenticated();
    const user = principal.type === 'USER' ? await ctx.services.users.byId(principal.id) : null;
    const tenants = [];
    for (const id of await ctx.services.tenants.tenantsOf(ctx.caller)) {
      const tenant = await ctx.services.tenants.requireActive(id).catch(() => null);
      if (!tenant) continue;
      const access = await ctx.caller.access(id);
      const permissions = [
        ...new Set(access.grants.map((g) => `${g.resource}:${g.action}${g.namespace === null ? '' : `@${g.namespace}`}`)),
      ].sort();
      tenants.push({ id, name: tenant.name, permissions, grants: effectivePermissionViews(access.grants) });
    }
    return {
      id: principal.id,
      type: principal.type as PrincipalKind,
      email: user?.email ?? null,
      name: user?.name ?? null,
      instanceAdmin: principal.type === 'USER' && principal.instanceAdmin,
      tenants,
    };
  }

  @Query(() => [User], { description: 'Every user of the instance, by id. Instance admins only (else FORBIDDEN).' })
  users(@Ctx() ctx: GraphQLContext) {
    return ctx.services.users.list(ctx.caller);
  }

  @Mutation(() => User, {
    nullable: true,
    description: 'Instance admins only. Users are instance-wide; rights come from bindings per tenant.',
  })
  async createUser(
    @Arg('input', () => CreateUserInput, { description: 'The new user.' }) input: CreateUserInput,
    @Ctx() ctx: GraphQLContext,
  ) {
    return reached(ctx, await ctx.services.users.create(ctx.caller, { ...input })).user;
  }

  @Query(() => User, {
    nullable: true,
    description: 'One user: instance admins read any, a user reads itself (else FORBIDDEN). Null when there is none.',
  })
  user(@Arg('id', () => ID, { description: 'The user id.' }) id: string, @Ctx() ctx: GraphQLContext) {
    return ctx.services.users.get(ctx.caller, id);
  }

  @Mutation(() => User, { nullable: true, description: 'Instance admins only. Changes the e-mail address and the display name.' })
  async updateUser(
    @Arg('id', () => ID, { description: 'The user id.' }) id: string,
    @Arg('input', () => UpdateUserInput, { description: 'The fields to change.' }) input: UpdateUserInput,
    @Arg('expectedRevision', () => Int, { nullable: true, description: EXPECTED_REVISION }) expectedRevision: number | null,
    @Ctx() ctx: GraphQLContext,
  ) {
    const patch = {
      ...(input.email != null ? { email: input.email } : {}),
      ...(input.name !== undefined ? { name: input.name } : {}),
    };
    return reached(ctx, await ctx.services.users.update(ctx.caller, id, patch, expectedRevision)).user;
  }

  @Mutation(() => User, {
    nullable: true,
    description:
      'Instance admins only; not the built-in admin. Its API tokens and JWTs stop authenticating at once and its live sessions end; bindings and memberships stay.',
  })
  async disableUser(
    @Arg('id', () => ID, { description: 'The user id.' }) id: string,
    @Arg('expectedRevision', () => Int, { nullable: true, description: EXPECTED_REVISION }) expectedRevision: number | null,
    @Ctx() ctx: GraphQLContext,
  ) {
    return reached(ctx, await ctx.services.users.disable(ctx.caller, id, expectedRevision)).user;
  }

  @Mutation(() => User, { nullable: true, description: 'Instance admins only. Its API tokens and JWTs authenticate again.' })
  async enableUser(
    @Arg('id', () => ID, { description: 'The user id.' }) id: string,
    @Arg('expectedRevision', () => Int, { nullable: true, description: EXPECTED_REVISION }) expectedRevision: number | null,
    @Ctx() ctx: GraphQLContext,
  ) {
    return reached(ctx, await ctx.services.users.enable(ctx.caller, id, expectedRevision)).user;
  }

  @Mutation(() => Boolean, {
    nullable: true,
    description: 'Instance admins only; not the built-in admin. The user’s tokens stop working at once; its id cannot be used again.',
  })
  async deleteUser(
    @Arg('id', () => ID, { description: 'The user id.' }) id: string,
    @Arg('expectedRevision', () => Int, { nullable: true, description: EXPECTED_REVISION }) expectedRevision: number | null,
    @Ctx() ctx: GraphQLContext,
  ) {
    return reached(ctx, await ctx.services.users.delete(ctx.caller, id, expectedRevision)).deleted;
  }
}
