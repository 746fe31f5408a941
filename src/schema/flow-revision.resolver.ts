import { Ctx, FieldResolver, Resolver, Root } from 'type-graphql';
import type { FlowRevisionView } from '../application/flows.js';
import type { GraphQLContext } from './context.js';
import { FlowRevision } from './flow.type.js';

@Resolver(() => FlowRevision)
export class FlowRevisionResolver {
  @FieldResolver(() => String, { description: "The revision's source, batched across the request." })
  async source(@Root() revision: FlowRevisionView, @Ctx() ctx: GraphQLContext): Promise<string> {
    const { tenantId, namespace, flowId } = revision;
    const doc = await ctx.loaders
      .flowRevision(tenantId)
      .load(ctx.services.flows.revisionKey(tenantId, namespace, flowId, revision.revision));
    return ctx.services.flows.savedSource(tenantId, namespace, flowId, revision.revision, doc);
  }
}
