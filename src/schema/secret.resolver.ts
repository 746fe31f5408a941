import { Arg, Ctx, Int, Mutation, Query, Resolver } from 'type-graphql';
import { reached, requireTenant, type GraphQLContext } from './context.js';
import { PutSecretInput } from './secret.input.js';
import { SecretMetadata } from './secret.type.js';

@Resolver(() => SecretMetadata)
export class SecretResolver {
  @Query(() => [SecretMetadata], {
    description: 'Secret metadata of a namespace; with includeInherited, also of its ancestors (nearest wins on equal keys).',
  })
  secrets(
    @Arg('namespace', () => String) namespace: string,
    @Arg('includeInherited', () => Boolean, { defaultValue: false }) includeInherited: boolean,
    @Ctx() ctx: GraphQLContext,
  ) {
    return ctx.services.secrets.list(ctx.caller, requireTenant(ctx), namespace, includeInherited);
  }

  @Mutation(() => SecretMetadata, {
    nullable: true,
    description:
      'Needs SECRET:CREATE for a new key, SECRET:UPDATE for an existing one. expectedRevision: the secret’s revision as read (0: a key never used); null: not checked.',
  })
  async putSecret(
    @Arg('input', () => PutSecretInput) input: PutSecretInput,
    @Arg('expectedRevision', () => Int, { nullable: true }) expectedRevision: number | null,
    @Ctx() ctx: GraphQLContext,
  ) {
    const { namespace, key, value, description, tags } = input;
    const put = { namespace, key, value, description, tags: tags?.map((t) => ({ key: t.key, value: t.value })) ?? tags };
    return reached(ctx, await ctx.services.secrets.put(ctx.caller, requireTenant(ctx), put, expectedRevision)).secret;
  }

  @Mutation(() => Boolean, { nullable: true, description: 'Deletes the secret and every stored version of its value.' })
  async deleteSecret(
    @Arg('namespace', () => String) namespace: string,
    @Arg('key', () => String) key: string,
    @Arg('expectedRevision', () => Int, { nullable: true }) expectedRevision: number | null,
    @Ctx() ctx: GraphQLContext,
  ) {
    reached(ctx, await ctx.services.secrets.delete(ctx.caller, requireTenant(ctx), namespace, key, expectedRevision));
    return true;
  }
}
