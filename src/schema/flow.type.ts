import { Field, ID, Int, ObjectType } from 'type-graphql';
import { PageInfo } from './connection.type.js';
import { DateTimeScalar } from './scalars.js';

@ObjectType({ description: 'A task of a flow (top level), as declared in its source.' })
export class Task {
  @Field(() => String) id!: string;
  @Field(() => String, { description: 'Plugin type, e.g. io.kestra.plugin.core.log.Log.' }) type!: string;
}

@ObjectType({ description: 'One saved revision of a flow: who saved it, when, and its source.' })
export class FlowRevision {
  @Field(() => Int) revision!: number;
  @Field(() => DateTimeScalar) updatedAt!: string;
  @Field(() => String, { description: 'Id of the user or service account that saved it.' }) updatedBy!: string;
  @Field(() => Int, { nullable: true, description: 'The revision whose source this save restored.' }) restoredFrom!: number | null;
}

@ObjectType({ description: 'A YAML workflow definition. Every save is a new revision; delete is soft.' })
export class Flow {
  @Field(() => ID) id!: string;
  @Field(() => String) namespace!: string;
  @Field(() => Int, { description: 'Save counter: 1 on create, +1 per update or restore that changed the source.' }) revision!: number;
  @Field(() => String) source!: string;
  @Field(() => String, { nullable: true }) description!: string | null;
  @Field(() => [Task]) tasks!: Task[];
  @Field(() => Boolean) disabled!: boolean;
  @Field(() => Boolean) deleted!: boolean;
  @Field(() => DateTimeScalar, { description: 'Time of the last change (a delete included).' }) updatedAt!: string;
  @Field(() => String) updatedBy!: string;
  @Field(() => Int, {
    description: 'Saved revisions so far (of this view: an asOf read counts those saved by then). Revisions are numbered 1…revisionCount.',
  })
  revisionCount!: number;
}

@ObjectType()
export class FlowEdge {
  @Field(() => String) cursor!: string;
  @Field(() => Flow) node!: Flow;
}

@ObjectType()
export class FlowConnection {
  @Field(() => [FlowEdge]) edges!: FlowEdge[];
  @Field(() => PageInfo) pageInfo!: PageInfo;
  @Field(() => Int, { description: 'Flows matching the filters, all pages together.' }) totalCount!: number;
}
