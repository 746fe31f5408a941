import { Arg, Ctx, ID, Int, Mutation, Query, Resolver } from 'type-graphql';
import { CreateBindingInput } from './access.input.js';
import { Binding } from './access.type.js';
import { reached, requireTenant, type GraphQLContext } from './context.js';

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
    nullable: true,
    description: 'The role must exist; so must the principal (users anywhere, groups and service accounts in this tenant).',
  })
  async createBinding(@Arg('input', () => CreateBindingInput) input: CreateBindingInput, @Ctx() ctx: GraphQLContext) {
    return reached(ctx, await ctx.services.bindings.create(ctx.caller, requireTenant(ctx), { ...input })).binding;
  }

  @Mutation(() => Boolean, { nullable: true, description: 'expectedRevision: the binding’s (1: bindings never change).' })
  async deleteBinding(
    @Arg('id', () => ID) id: string,
    @Arg('expectedRevision', () => Int, { nullable: true }) expectedRevision: number | null,
    @Ctx() ctx: GraphQLContext,
  ) {
    return reached(ctx, await ctx.services.bindings.delete(ctx.caller, requireTenant(ctx), id, expectedRevision)).deleted;
  }
}
