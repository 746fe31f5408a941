import { Field, ID, Int, ObjectType } from 'type-graphql';
import type { FlowTask } from '../aggregates/flow/flow-source.js';
import type { FlowRevisionView, FlowView } from '../application/flows.js';
import type { Page } from '../application/pagination.js';
import { PageInfo } from './connection.type.js';
import { EDGE_CURSOR } from './descriptions.js';
import { DateTimeScalar } from './scalars.js';

@ObjectType({ description: 'A task of a flow (top level), as declared in its source.' })
export class Task implements FlowTask {
  @Field(() => String, { description: 'The task id, unique within the flow.' }) id!: string;
  @Field(() => String, { description: 'Plugin type, e.g. io.kestra.plugin.core.log.Log.' }) type!: string;
}

// tenantId, namespace and flowId name the flow it belongs to, which the parent Flow names already. `source` is a field
// resolver (flow-revision.resolver.ts), loaded only when asked for.
@ObjectType({ description: 'One saved revision of a flow: who saved it, when, and its source.' })
export class FlowRevision implements Omit<FlowRevisionView, 'tenantId' | 'namespace' | 'flowId'> {
  @Field(() => Int, { description: 'The revision number, 1 for the first save.' }) revision!: number;
  @Field(() => DateTimeScalar, { description: 'When it was saved.' }) updatedAt!: string;
  @Field(() => String, { description: 'Id of the user or service account that saved it.' }) updatedBy!: string;
  @Field(() => Int, { nullable: true, description: 'The revision whose source this save restored.' }) restoredFrom!: number | null;
}

// tenantId: the tenant is the endpoint's. `revisions` and `namespaceRef` are field resolvers (flow.resolver.ts).
@ObjectType({ description: 'A YAML workflow definition. Every save is a new revision; delete is soft.' })
export class Flow implements Omit<FlowView, 'tenantId'> {
  @Field(() => ID, { description: 'Flow id within its namespace: ^[a-zA-Z0-9][a-zA-Z0-9._-]*$, at most 100 (the `id` of the source).' })
  id!: string;
  @Field(() => String, { description: 'Its namespace (the `namespace` of the source). A flow is named by namespace and id together.' })
  namespace!: string;
  @Field(() => Int, { description: 'Save counter: 1 on create, +1 per update or restore that changed the source.' }) revision!: number;
  // source: a field resolver (FlowResolver.source), the current read model does not hold it.
  @Field(() => String, { nullable: true, description: 'The `description` of the source; null when it has none.' }) description!:
    string | null;
  @Field(() => [Task], { description: 'Its top-level tasks, in order.' }) tasks!: Task[];
  @Field(() => Boolean, { description: 'The `disabled` of the source: a disabled flow is kept but not run.' }) disabled!: boolean;
  @Field(() => Boolean, { description: 'Soft-deleted (deleteFlow): still readable; restoreFlow brings it back.' }) deleted!: boolean;
  @Field(() => DateTimeScalar, { description: 'Time of the last change (a delete included).' }) updatedAt!: string;
  @Field(() => String, { description: 'Id of the user or service account of the last change.' }) updatedBy!: string;
  @Field(() => Int, {
    description: 'Saved revisions so far (of this view: an asOf read counts those saved by then). Revisions are numbered 1…revisionCount.',
  })
  revisionCount!: number;
}

/** A page of flows as the schema answers it: flows without their tenantId (see Flow). */
type FlowPage = Page<Omit<FlowView, 'tenantId'>>;
type FlowEdgeView = FlowPage['edges'][number];

@ObjectType({ description: 'One flow of a page of flows.' })
export class FlowEdge implements FlowEdgeView {
  @Field(() => String, { description: EDGE_CURSOR }) cursor!: string;
  @Field(() => Flow, { description: 'The flow.' }) node!: Flow;
}

// totalCount: the page's is a promise, counted only when read; type-graphql awaits it.
@ObjectType({ description: 'A page of flows, by namespace then id (Relay connection).' })
export class FlowConnection implements Omit<FlowPage, 'totalCount'> {
  @Field(() => [FlowEdge], { description: 'The flows of this page.' }) edges!: FlowEdge[];
  @Field(() => PageInfo, { description: 'Whether more follow, and the cursor to ask for them.' }) pageInfo!: PageInfo;
  @Field(() => Int, { description: 'Flows matching the filters, all pages together.' }) totalCount!: number;
}
