import { Arg, Ctx, ID, Int, Mutation, Query, Resolver } from 'type-graphql';
import type { TokenPrincipalType } from '../aggregates/api-token/api-token.js';
import { badInput } from '../shared/errors.js';
import { CreateApiTokenInput } from './access.input.js';
import { ApiToken, CreatedApiToken, PrincipalTypeEnum } from './access.type.js';
import { reached, type GraphQLContext } from './context.js';

function tokenPrincipalType(value: PrincipalTypeEnum | null | undefined): TokenPrincipalType | null {
  if (value === null || value === undefined) return null;
  if (value === PrincipalTypeEnum.GROUP)
    throw badInput('principalType', 'groups have no API tokens: create one for a user or a service account');
  return value;
}

@Resolver(() => ApiToken)
export class ApiTokenResolver {
  @Query(() => [ApiToken], {
    description:
      'Tenant endpoint: the service-account tokens (SERVICE_ACCOUNT:LIST). Instance endpoint: your own tokens (instance admins: every user token).',
  })
  apiTokens(@Arg('principalId', () => ID, { nullable: true }) principalId: string | null, @Ctx() ctx: GraphQLContext) {
    return ctx.services.apiTokens.list(ctx.caller, ctx.tenantId, principalId);
  }

  @Mutation(() => CreatedApiToken, {
    nullable: true,
    description:
      'Your own token (any endpoint), or a service account token (tenant endpoint, SERVICE_ACCOUNT:UPDATE). The token is shown once.',
  })
  async createApiToken(@Arg('input', () => CreateApiTokenInput) input: CreateApiTokenInput, @Ctx() ctx: GraphQLContext) {
    const data = { ...input, principalType: tokenPrincipalType(input.principalType) };
    return reached(ctx, await ctx.services.apiTokens.create(ctx.caller, ctx.tenantId, data)).token;
  }

  @Mutation(() => Boolean, { nullable: true, description: 'Refused from then on. Revoking twice is a no-op.' })
  async revokeApiToken(
    @Arg('id', () => ID) id: string,
    @Arg('expectedRevision', () => Int, { nullable: true }) expectedRevision: number | null,
    @Ctx() ctx: GraphQLContext,
  ) {
    return reached(ctx, await ctx.services.apiTokens.revoke(ctx.caller, ctx.tenantId, id, expectedRevision)).revoked;
  }
}
