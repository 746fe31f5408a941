import { Arg, Ctx, ID, Int, Query, Resolver } from 'type-graphql';
import { requireTenant, type GraphQLContext } from './context.js';
import { ResolvedFlow } from './resolved-flow.type.js';
import { DateTimeScalar } from './scalars.js';

@Resolver(() => ResolvedFlow)
export class ResolvedFlowResolver {
  @Query(() => ResolvedFlow, {
    nullable: true,
    description:
      'What a saved flow would run with: current, at a flow revision (namespaces as they are now), or everything as it was at asOf. Needs FLOW:VIEW.',
  })
  resolvedFlow(
    @Arg('namespace', () => String) namespace: string,
    @Arg('id', () => ID) id: string,
    @Arg('revision', () => Int, { nullable: true }) revision: number | null,
    @Arg('asOf', () => DateTimeScalar, { nullable: true }) asOf: Date | null,
    @Ctx() ctx: GraphQLContext,
  ) {
    return ctx.services.resolvedFlows.get(ctx.caller, requireTenant(ctx), namespace, id, { revision, asOf });
  }
}
