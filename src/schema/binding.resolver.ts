import { Arg, Ctx, ID, Int, Mutation, Query, Resolver } from 'type-graphql';
import { CreateBindingInput } from './access.input.js';
import { Binding } from './access.type.js';
import { EXPECTED_REVISION } from './descriptions.js';
import { reached, requireTenant, type GraphQLContext } from './context.js';

@Resolver(() => Binding)
export class BindingResolver {
  @Query(() => [Binding], {
    description:
      'The bindings of the tenant: who holds which role, tenant-wide or on which namespace. Each argument narrows the list. Empty without BINDING:LIST.',
  })
  bindings(
    @Arg('principalId', () => ID, { nullable: true, description: 'Only bindings of this user, group or service account.' })
    principalId: string | null,
    @Arg('roleId', () => ID, { nullable: true, description: 'Only bindings of this role.' }) roleId: string | null,
    @Arg('namespace', () => String, {
      nullable: true,
      description: 'Only bindings on exactly this namespace (not its ancestors or children); absent: all, tenant-wide ones included.',
    })
    namespace: string | null,
    @Ctx() ctx: GraphQLContext,
  ) {
    return ctx.services.bindings.list(ctx.caller, requireTenant(ctx), { principalId, roleId, namespace });
  }

  @Mutation(() => Binding, {
    nullable: true,
    description:
      'Needs BINDING:CREATE, and every right the role grants on the binding’s scope (else BINDING:ESCALATE). The role must exist; so must the principal (users anywhere, groups and service accounts in this tenant).',
  })
  async createBinding(
    @Arg('input', () => CreateBindingInput, { description: 'Who gets which role where.' }) input: CreateBindingInput,
    @Ctx() ctx: GraphQLContext,
  ) {
    return reached(ctx, await ctx.services.bindings.create(ctx.caller, requireTenant(ctx), { ...input })).binding;
  }

  @Mutation(() => Boolean, {
    nullable: true,
    description:
      'Needs BINDING:DELETE. The principal loses what it granted at once. Answers true. expectedRevision: the binding’s (1: bindings never change).',
  })
  async deleteBinding(
    @Arg('id', () => ID, { description: 'The binding id.' }) id: string,
    @Arg('expectedRevision', () => Int, { nullable: true, description: EXPECTED_REVISION }) expectedRevision: number | null,
    @Ctx() ctx: GraphQLContext,
  ) {
    return reached(ctx, await ctx.services.bindings.delete(ctx.caller, requireTenant(ctx), id, expectedRevision)).deleted;
  }
}
