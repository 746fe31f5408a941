import { FLOW_ID, FLOW_NAMESPACE } from './descriptions.js';
import { Arg, Ctx, ID, Int, Query, Resolver } from 'type-graphql';
import { requireTenant, type GraphQLContext } from './context.js';
import { FlowValidation, ResolvedFlow } from './resolved-flow.type.js';
import { DateTimeScalar } from './scalars.js';

@Resolver(() => ResolvedFlow)
export class ResolvedFlowResolver {
  @Query(() => FlowValidation, {
    description:
      'Checks a flow source without saving it: the YAML, plugin defaults, secrets and namespace variables its expressions use, and its references to other namespaces. Needs FLOW:VIEW on the namespace it names.',
  })
  validateFlow(
    @Arg('source', () => String, { description: 'A flow source (YAML), as createFlow or updateFlow would take it.' }) source: string,
    @Ctx() ctx: GraphQLContext,
  ) {
    return ctx.services.resolvedFlows.validate(ctx.caller, requireTenant(ctx), source);
  }

  @Query(() => ResolvedFlow, {
    nullable: true,
    description:
      'What a saved flow would run with: current, at a flow revision (namespaces as they are now), or everything as it was at asOf. Needs FLOW:VIEW.',
  })
  resolvedFlow(
    @Arg('namespace', () => String, { description: FLOW_NAMESPACE }) namespace: string,
    @Arg('id', () => ID, { description: FLOW_ID }) id: string,
    @Arg('revision', () => Int, {
      nullable: true,
      description: 'Resolve this saved revision of the flow, with the namespaces as they are now.',
    })
    revision: number | null,
    @Arg('asOf', () => DateTimeScalar, {
      nullable: true,
      description:
        'Resolve everything (flow, namespaces, secrets) as it was at this instant; absent: now. Null when the flow did not exist then.',
    })
    asOf: Date | null,
    @Ctx() ctx: GraphQLContext,
  ) {
    return ctx.services.resolvedFlows.get(ctx.caller, requireTenant(ctx), namespace, id, { revision, asOf });
  }
}
