import { Arg, Ctx, ID, Query, Resolver } from 'type-graphql';
import { EffectivePermission, PrincipalTypeEnum } from './access.type.js';
import { requireTenant, type GraphQLContext } from './context.js';
import { DateTimeScalar } from './scalars.js';

@Resolver(() => EffectivePermission)
export class EffectivePermissionResolver {
  @Query(() => [EffectivePermission], {
    description:
      'What a principal may do in this tenant and through which binding or group; asOf replays the log. Needs BINDING:LIST unless it is you.',
  })
  effectivePermissions(
    @Arg('principalId', () => ID, { description: 'The user, group or service account.' }) principalId: string,
    @Arg('namespace', () => String, {
      nullable: true,
      description: 'Only what applies on this namespace (tenant-wide grants and those on it or an ancestor); absent: everything.',
    })
    namespace: string | null,
    @Arg('asOf', () => DateTimeScalar, {
      nullable: true,
      description: "Replay the tenant's access history up to this instant: what the principal could do then. Absent: now.",
    })
    asOf: Date | null,
    @Arg('principalType', () => PrincipalTypeEnum, {
      nullable: true,
      description: 'Absent: a user if one has this id, else a service account, else a group.',
    })
    type: PrincipalTypeEnum | null,
    @Ctx() ctx: GraphQLContext,
  ) {
    return ctx.services.effectivePermissions.list(ctx.caller, requireTenant(ctx), {
      principalId,
      namespace,
      asOf,
      principalType: type,
    });
  }
}
