import type { GraphQLResolveInfo } from 'graphql';
import { Arg, Ctx, Extensions, FieldResolver, ID, Info, Int, Mutation, Query, Resolver, Root } from 'type-graphql';
import { DEFAULT_FLOW_PAGE, DEFAULT_REVISION_WINDOW, revisionView, type FlowRevisionView, type FlowView } from '../application/flows.js';
import { namespaceView, type NamespaceDocument, type NamespaceView } from '../application/namespaces.js';
import { reached, requireTenant, type GraphQLContext } from './context.js';
import { AFTER_CURSOR, BEFORE_CURSOR, FLOW_EXPECTED_REVISION, FLOW_ID, FLOW_NAMESPACE, LAST_ITEMS } from './descriptions.js';
import { pageDefault } from './query-limits.js';
import { Flow, FlowConnection, FlowRevision } from './flow.type.js';
import { Namespace } from './namespace.type.js';
import { selectsField } from './selection.js';
import { DateTimeScalar } from './scalars.js';

/** One view per namespace document read (a request's own objects): the flows of a page share few namespaces. */
const views = new WeakMap<NamespaceDocument, NamespaceView>();
function viewOf(doc: NamespaceDocument): NamespaceView {
  let view = views.get(doc);
  if (!view) views.set(doc, (view = namespaceView(doc)));
  return view;
}

@Resolver(() => Flow)
export class FlowResolver {
  @Query(() => FlowConnection, { description: 'Flows the caller may list, by namespace then id; deleted flows only with includeDeleted.' })
  async flows(
    @Arg('namespace', () => String, {
      nullable: true,
      description:
        'Only flows in exactly this namespace (with includeChildren: its subtree too); absent: every namespace the caller may list.',
    })
    namespace: string | null,
    @Arg('includeChildren', () => Boolean, {
      defaultValue: false,
      description: 'With namespace: also the flows of the namespaces below it.',
    })
    includeChildren: boolean,
    @Arg('query', () => String, { nullable: true, description: 'Case-insensitive match on id, namespace and description.' })
    query: string | null,
    @Arg('first', () => Int, { defaultValue: DEFAULT_FLOW_PAGE, description: 'Page size: how many to return, from 0 to 500.' })
    first: number,
    @Arg('after', () => String, { nullable: true, description: AFTER_CURSOR }) after: string | null,
    @Arg('includeDeleted', () => Boolean, { defaultValue: false, description: 'Include soft-deleted flows.' }) includeDeleted: boolean,
    @Arg('last', () => Int, { nullable: true, description: LAST_ITEMS }) last: number | null,
    @Arg('before', () => String, { nullable: true, description: BEFORE_CURSOR }) before: string | null,
    @Ctx() ctx: GraphQLContext,
    @Info() info: GraphQLResolveInfo,
  ) {
    const tenantId = requireTenant(ctx);
    const page = await ctx.services.flows.list(ctx.caller, tenantId, {
      namespace,
      includeChildren,
      query,
      first,
      after,
      last,
      before,
      includeDeleted,
    });
    // The page's namespaces in one batch now, so that each flow's namespaceRef answers without a promise of its own.
    if (selectsField(info, 'namespaceRef')) await this.loadNamespaces(ctx, tenantId, page.edges);
    return page;
  }

  /** Loads the namespaces of these flows the caller may view (one batched read), for namespaceRef. */
  private async loadNamespaces(ctx: GraphQLContext, tenantId: string, edges: readonly { node: FlowView }[]): Promise<void> {
    if (edges.length === 0) return;
    const access = await ctx.caller.access(tenantId);
    const visible = new Set<string>();
    for (const { node } of edges) if (access.can('NAMESPACE', 'VIEW', node.namespace)) visible.add(node.namespace);
    await ctx.loaders.namespace(tenantId).loadMany([...visible]);
  }

  @Query(() => Flow, { nullable: true, description: 'A flow, deleted or not: current, at a given revision, or as it was at asOf.' })
  flow(
    @Arg('namespace', () => String, { description: FLOW_NAMESPACE }) namespace: string,
    @Arg('id', () => ID, { description: FLOW_ID }) id: string,
    @Arg('revision', () => Int, { nullable: true, description: 'Read this saved revision (1…revisionCount) instead of the current one.' })
    revision: number | null,
    @Arg('asOf', () => DateTimeScalar, {
      nullable: true,
      description: 'The flow as it was at this instant (replayed from its events); absent: now. Null when it did not exist then.',
    })
    asOf: Date | null,
    @Ctx() ctx: GraphQLContext,
  ) {
    return ctx.services.flows.get(ctx.caller, requireTenant(ctx), namespace, id, { revision, asOf });
  }

  @Mutation(() => Flow, {
    nullable: true,
    description:
      'Saves a new flow from its YAML source (id, namespace and tasks at least) as revision 1. Needs FLOW:CREATE on its namespace. A deleted flow with the same id is re-created.',
  })
  async createFlow(
    @Arg('source', () => String, { description: 'The YAML source: id, namespace and tasks at least.' }) source: string,
    @Ctx() ctx: GraphQLContext,
  ) {
    return reached(ctx, await ctx.services.flows.create(ctx.caller, requireTenant(ctx), source)).flow;
  }

  @Mutation(() => Flow, {
    nullable: true,
    description:
      'Needs FLOW:UPDATE on the namespace. A new revision when the source changed (an unchanged source writes nothing); the source must keep the flow’s id and namespace.',
  })
  async updateFlow(
    @Arg('namespace', () => String, { description: FLOW_NAMESPACE }) namespace: string,
    @Arg('id', () => ID, { description: FLOW_ID }) id: string,
    @Arg('source', () => String, { description: "The new YAML source; its id and namespace must be the flow's." }) source: string,
    @Arg('expectedRevision', () => Int, {
      nullable: true,
      description: FLOW_EXPECTED_REVISION,
    })
    expectedRevision: number | null,
    @Ctx() ctx: GraphQLContext,
  ) {
    return reached(ctx, await ctx.services.flows.update(ctx.caller, requireTenant(ctx), namespace, id, source, expectedRevision)).flow;
  }

  @Mutation(() => Flow, {
    nullable: true,
    description: 'Soft delete: the flow stays readable with deleted: true. expectedRevision is the flow revision.',
  })
  async deleteFlow(
    @Arg('namespace', () => String, { description: FLOW_NAMESPACE }) namespace: string,
    @Arg('id', () => ID, { description: FLOW_ID }) id: string,
    @Arg('expectedRevision', () => Int, {
      nullable: true,
      description: FLOW_EXPECTED_REVISION,
    })
    expectedRevision: number | null,
    @Ctx() ctx: GraphQLContext,
  ) {
    return reached(ctx, await ctx.services.flows.delete(ctx.caller, requireTenant(ctx), namespace, id, expectedRevision)).flow;
  }

  @Mutation(() => Flow, {
    nullable: true,
    description:
      'Brings a deleted flow back with the source it had when deleted, as a new revision; expectedRevision is the revision it had.',
  })
  async restoreFlow(
    @Arg('namespace', () => String, { description: FLOW_NAMESPACE }) namespace: string,
    @Arg('id', () => ID, { description: FLOW_ID }) id: string,
    @Arg('expectedRevision', () => Int, {
      nullable: true,
      description: FLOW_EXPECTED_REVISION,
    })
    expectedRevision: number | null,
    @Ctx() ctx: GraphQLContext,
  ) {
    return reached(ctx, await ctx.services.flows.restoreDeleted(ctx.caller, requireTenant(ctx), namespace, id, expectedRevision)).flow;
  }

  @Mutation(() => Flow, {
    nullable: true,
    description: "Saves an older revision's source as a new revision. expectedRevision is the flow's current revision.",
  })
  async restoreFlowRevision(
    @Arg('namespace', () => String, { description: FLOW_NAMESPACE }) namespace: string,
    @Arg('id', () => ID, { description: FLOW_ID }) id: string,
    @Arg('revision', () => Int, { description: 'The saved revision whose source to restore.' }) revision: number,
    @Arg('expectedRevision', () => Int, {
      nullable: true,
      description: FLOW_EXPECTED_REVISION,
    })
    expectedRevision: number | null,
    @Ctx() ctx: GraphQLContext,
  ) {
    const tenantId = requireTenant(ctx);
    return reached(ctx, await ctx.services.flows.restore(ctx.caller, tenantId, namespace, id, revision, expectedRevision)).flow;
  }

  @FieldResolver(() => String, { description: 'The YAML source, as saved.' })
  async source(@Root() flow: FlowView, @Ctx() ctx: GraphQLContext): Promise<string> {
    if (flow.source !== undefined) return flow.source;
    // The current read model holds no sources: the revision's document has it, batched across a page of flows.
    const doc = await ctx.loaders
      .flowRevision(flow.tenantId)
      .load(ctx.services.flows.revisionKey(flow.tenantId, flow.namespace, flow.id, flow.revision));
    return ctx.services.flows.sourceOf(flow, doc);
  }

  @FieldResolver(() => [FlowRevision], {
    description:
      'Saved revisions, oldest first: a window of 1…revisionCount chosen Relay-style with revision numbers as cursors (after/before exclude them). Without first or last: the newest 20 (and the cost of a request counts 20). At most 500 per window. Batched per request.',
  })
  @Extensions(pageDefault('last', DEFAULT_REVISION_WINDOW))
  async revisions(
    @Root() flow: FlowView,
    @Arg('first', () => Int, { nullable: true, description: 'The oldest revisions of the window, up to this many (0 to 500).' })
    first: number | null,
    @Arg('after', () => Int, { nullable: true, description: 'Revisions after this revision number.' }) after: number | null,
    @Arg('last', () => Int, { nullable: true, description: 'The newest revisions of the window, up to this many (0 to 500).' })
    last: number | null,
    @Arg('before', () => Int, { nullable: true, description: 'Revisions before this revision number.' }) before: number | null,
    @Ctx() ctx: GraphQLContext,
  ): Promise<FlowRevisionView[]> {
    const ids = ctx.services.flows.revisionIds(flow, { first, after, last, before });
    const views: FlowRevisionView[] = [];
    for (const doc of await ctx.loaders.flowRevision(flow.tenantId).loadMany(ids)) {
      if (doc instanceof Error) throw doc;
      // Absent only while the revisions read model lags behind the flow's (read-your-writes bounds it).
      if (doc) views.push(revisionView(doc));
    }
    return views;
  }

  @FieldResolver(() => Namespace, {
    nullable: true,
    description: "The flow's namespace (a placeholder when never created); null without NAMESPACE:VIEW. Batched per request.",
  })
  namespaceRef(@Root() flow: FlowView, @Ctx() ctx: GraphQLContext): NamespaceView | null | Promise<NamespaceView | null> {
    // Synchronous when the rights and the namespace are known (a page of flows loads its namespaces first):
    // a promise per flow of a page costs more than the rest of the flow's fields.
    const access = ctx.caller.knownAccess(flow.tenantId);
    if (!access) return this.namespaceRefLater(flow, ctx);
    if (!access.can('NAMESPACE', 'VIEW', flow.namespace)) return null;
    const loaded = ctx.loaders.loadedNamespace(flow.tenantId, flow.namespace);
    if (loaded !== undefined) return loaded ? viewOf(loaded) : null;
    return this.namespaceRefLater(flow, ctx);
  }

  private async namespaceRefLater(flow: FlowView, ctx: GraphQLContext): Promise<NamespaceView | null> {
    const access = await ctx.caller.access(flow.tenantId);
    if (!access.can('NAMESPACE', 'VIEW', flow.namespace)) return null;
    const doc = await ctx.loaders.namespace(flow.tenantId).load(flow.namespace);
    return doc ? namespaceView(doc) : null;
  }
}
