import { Field, ID, Int, ObjectType } from 'type-graphql';
import type { JsonObject } from '../shared/json.js';
import { PluginDefault } from './namespace.type.js';
import { DateTimeScalar, JSONScalar } from './scalars.js';

@ObjectType({ description: 'What decided one top-level property of a resolved task or trigger.' })
export class PropertySource {
  @Field(() => String) key!: string;
  @Field(() => String, { description: 'TASK: written in the task itself. DEFAULT: a plugin default (type, forced, namespace say which).' })
  from!: 'TASK' | 'DEFAULT';
  @Field(() => String, { nullable: true }) type?: string | null;
  @Field(() => Boolean, { nullable: true }) forced?: boolean | null;
  @Field(() => String, { nullable: true, description: 'The namespace the default was set on; null for the flow itself.' })
  namespace?: string | null;
}

@ObjectType({ description: 'A task or trigger of a flow, with the plugin defaults applied.' })
export class ResolvedPlugin {
  @Field(() => String, { description: 'TASK or TRIGGER.' }) kind!: string;
  @Field(() => String) id!: string;
  @Field(() => String) type!: string;
  @Field(() => String, { description: 'Where it is in the source, e.g. tasks[1].then[0].' }) path!: string;
  @Field(() => JSONScalar, { description: 'Its properties (without id, type and nested task lists) after the plugin defaults.' })
  properties!: JsonObject;
  @Field(() => [PluginDefault], {
    description: 'The plugin defaults that match its type, strongest first (namespace null: the flow-level pluginDefaults).',
  })
  pluginDefaults!: PluginDefault[];
  @Field(() => [PropertySource]) propertySources!: PropertySource[];
}

@ObjectType({ description: 'A governance object a resolution read, at the revision it read.' })
export class GovernanceRevision {
  @Field(() => String, { description: 'FLOW or NAMESPACE.' }) kind!: string;
  @Field(() => String) id!: string;
  @Field(() => Int) revision!: number;
}

@ObjectType({ description: 'A problem found in a flow, named so that an editor can point at it.' })
export class FlowProblem {
  @Field(() => String) code!: string;
  @Field(() => String) message!: string;
  @Field(() => String, { nullable: true }) path!: string | null;
}

@ObjectType({ description: 'What a flow would run with: plugin defaults applied, and the revisions of what was read.' })
export class ResolvedFlow {
  @Field(() => String) namespace!: string;
  @Field(() => ID) id!: string;
  @Field(() => Int, { description: 'The flow revision resolved.' }) revision!: number;
  @Field(() => DateTimeScalar, { nullable: true }) asOf!: string | null;
  @Field(() => [ResolvedPlugin]) plugins!: ResolvedPlugin[];
  @Field(() => [GovernanceRevision], { description: 'The flow and every existing namespace from the root down, at the revision used.' })
  used!: GovernanceRevision[];
  @Field(() => [FlowProblem]) problems!: FlowProblem[];
}
