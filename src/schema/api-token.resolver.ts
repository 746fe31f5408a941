import { Arg, Ctx, ID, Int, Mutation, Query, Resolver } from 'type-graphql';
import type { TokenPrincipalType } from '../aggregates/api-token/api-token.js';
import { badInput } from '../shared/errors.js';
import { CreateApiTokenInput } from './access.input.js';
import { ApiToken, CreatedApiToken, PrincipalTypeEnum } from './access.type.js';
import { EXPECTED_REVISION } from './descriptions.js';
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
  apiTokens(
    @Arg('principalId', () => ID, { nullable: true, description: 'Only the tokens of this user or service account.' })
    principalId: string | null,
    @Ctx() ctx: GraphQLContext,
  ) {
    return ctx.services.apiTokens.list(ctx.caller, ctx.tenantId, principalId);
  }

  @Mutation(() => CreatedApiToken, {
    nullable: true,
    description:
      'Your own token (any endpoint), or a service account token (tenant endpoint, SERVICE_ACCOUNT:UPDATE). The token is shown once.',
  })
  async createApiToken(
    @Arg('input', () => CreateApiTokenInput, { description: 'Whose token, its name and lifetime.' }) input: CreateApiTokenInput,
    @Ctx() ctx: GraphQLContext,
  ) {
    const data = { ...input, principalType: tokenPrincipalType(input.principalType) };
    return reached(ctx, await ctx.services.apiTokens.create(ctx.caller, ctx.tenantId, data)).token;
  }

  @Mutation(() => Boolean, {
    nullable: true,
    description:
      'The token is refused from then on (live sessions opened with it end at their next re-check). A user token: its user or an instance admin; a service account’s (tenant endpoint): SERVICE_ACCOUNT:UPDATE; anyone else gets NOT_FOUND. Revoking twice is a no-op. Answers true.',
  })
  async revokeApiToken(
    @Arg('id', () => ID, { description: 'The token id (ApiToken.id, not the secret).' }) id: string,
    @Arg('expectedRevision', () => Int, { nullable: true, description: EXPECTED_REVISION }) expectedRevision: number | null,
    @Ctx() ctx: GraphQLContext,
  ) {
    return reached(ctx, await ctx.services.apiTokens.revoke(ctx.caller, ctx.tenantId, id, expectedRevision)).revoked;
  }
}
