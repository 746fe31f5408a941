import { Arg, Ctx, Int, Mutation, Query, Resolver } from 'type-graphql';
import { EXPECTED_REVISION } from './descriptions.js';
import { reached, requireTenant, type GraphQLContext } from './context.js';
import { PutSecretInput } from './secret.input.js';
import { SecretMetadata } from './secret.type.js';

const SECRET_EXPECTED_REVISION =
  'The secret’s `revision` as read; 0: the key must not be in use. When it has moved on: CONFLICT with `extensions.actualRevision`, and nothing is stored. Absent or null: not checked.';

@Resolver(() => SecretMetadata)
export class SecretResolver {
  @Query(() => [SecretMetadata], {
    description: 'Secret metadata of a namespace; with includeInherited, also of its ancestors (nearest wins on equal keys).',
  })
  secrets(
    @Arg('namespace', () => String, { description: 'The namespace.' }) namespace: string,
    @Arg('includeInherited', () => Boolean, {
      defaultValue: false,
      description: 'Also the secrets of its ancestors that its flows can use (nearest wins on equal keys).',
    })
    includeInherited: boolean,
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
    @Arg('input', () => PutSecretInput, { description: 'The namespace, key, value and metadata.' }) input: PutSecretInput,
    @Arg('expectedRevision', () => Int, { nullable: true, description: SECRET_EXPECTED_REVISION }) expectedRevision: number | null,
    @Ctx() ctx: GraphQLContext,
  ) {
    const { namespace, key, value, description, tags } = input;
    const put = { namespace, key, value, description, tags: tags?.map((t) => ({ key: t.key, value: t.value })) ?? tags };
    return reached(ctx, await ctx.services.secrets.put(ctx.caller, requireTenant(ctx), put, expectedRevision)).secret;
  }

  @Mutation(() => Boolean, {
    nullable: true,
    description: 'Needs SECRET:DELETE on its namespace. Deletes the secret and every stored version of its value; answers true.',
  })
  async deleteSecret(
    @Arg('namespace', () => String, { description: 'The namespace.' }) namespace: string,
    @Arg('key', () => String, { description: 'The secret key.' }) key: string,
    @Arg('expectedRevision', () => Int, { nullable: true, description: EXPECTED_REVISION }) expectedRevision: number | null,
    @Ctx() ctx: GraphQLContext,
  ) {
    reached(ctx, await ctx.services.secrets.delete(ctx.caller, requireTenant(ctx), namespace, key, expectedRevision));
    return true;
  }
}
