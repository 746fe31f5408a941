import { Field, ID, Int, ObjectType } from 'type-graphql';
import type { JsonObject } from '../shared/json.js';
import { InheritedVariable, PluginDefault } from './namespace.type.js';
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

@ObjectType({
  description: 'A credential field of a default authentication, and the secret KEY it is taken from, checked (never a value).',
})
export class CheckedSecretRef {
  @Field(() => String) field!: string;
  @Field(() => String, { description: 'The secret key.' }) key!: string;
  @Field(() => String, {
    description: 'FOUND, MISSING, or NOT_VISIBLE (the caller may not list secrets in some namespace of the lineage).',
  })
  status!: string;
  @Field(() => String, { nullable: true, description: 'Where the secret was found (nearest to the flow).' }) namespace!: string | null;
  @Field(() => Int, { nullable: true, description: "The secret's version." }) revision!: number | null;
}

@ObjectType({
  description: 'The namespace default authentication a task falls under, from the nearest namespace that sets one for its provider.',
})
export class AppliedDefaultAuthentication {
  @Field(() => String) provider!: string;
  @Field(() => String) pluginType!: string;
  @Field(() => String, { description: 'The namespace that set it.' }) namespace!: string;
  @Field(() => ID, { nullable: true }) serviceAccountId!: string | null;
  @Field(() => String, {
    nullable: true,
    description: 'FOUND, MISSING, DISABLED or NOT_VISIBLE (no SERVICE_ACCOUNT:VIEW); null: none named.',
  })
  serviceAccountStatus!: string | null;
  @Field(() => [CheckedSecretRef]) secretRefs!: CheckedSecretRef[];
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
  @Field(() => AppliedDefaultAuthentication, { nullable: true, description: 'Null: no namespace of the lineage sets one for its type.' })
  defaultAuthentication!: AppliedDefaultAuthentication | null;
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

@ObjectType({
  description: 'A secret or namespace variable an expression of the flow uses, checked (secret metadata only, never a value).',
})
export class ExpressionReference {
  @Field(() => String, { description: 'SECRET or VARIABLE.' }) kind!: string;
  @Field(() => String, { description: 'The secret key, or the path below namespace. (e.g. db.host).' }) name!: string;
  @Field(() => String, { description: 'Where the expression is (→ follows a render() into a variable).' }) path!: string;
  @Field(() => Boolean, { description: "Inside render(...): the variable's own expressions are checked too." }) rendered!: boolean;
  @Field(() => String, {
    description:
      'FOUND, MISSING, or NOT_VISIBLE (not found where the caller may list secrets, and some namespaces are hidden from the caller).',
  })
  status!: string;
  @Field(() => String, { nullable: true, description: 'The namespace it was found in.' }) namespace!: string | null;
  @Field(() => Int, { nullable: true, description: "The secret's version, or the revision of the namespace that sets the variable." })
  revision!: number | null;
}

@ObjectType({ description: 'Another namespace a task or trigger names, and whether that namespace allows it.' })
export class NamespaceReference {
  @Field(() => String, { description: 'Id of the task or trigger.' }) plugin!: string;
  @Field(() => String) path!: string;
  @Field(() => String) namespace!: string;
  @Field(() => Boolean) allowed!: boolean;
  @Field(() => String) rule!: string;
  @Field(() => Int, { nullable: true }) revision!: number | null;
}

@ObjectType({ description: 'What a flow would run with: plugin defaults applied, and the revisions of what was read.' })
export class ResolvedFlow {
  @Field(() => String) namespace!: string;
  @Field(() => ID) id!: string;
  @Field(() => Int, { nullable: true, description: 'The flow revision resolved (null for validateFlow: the source is not saved).' })
  revision!: number | null;
  @Field(() => DateTimeScalar, { nullable: true }) asOf!: string | null;
  @Field(() => [ResolvedPlugin]) plugins!: ResolvedPlugin[];
  @Field(() => [InheritedVariable], {
    description: 'The namespace variables the flow sees (root to its namespace, nearest wins), each with its namespace.',
  })
  variables!: InheritedVariable[];
  @Field(() => [ExpressionReference], {
    description: "Every secret('X') and namespace.x of the flow's expressions (and of variables it renders), checked.",
  })
  references!: ExpressionReference[];
  @Field(() => [NamespaceReference], {
    description: "Every other namespace its tasks and triggers name, checked against that namespace's allowed namespaces.",
  })
  namespaceReferences!: NamespaceReference[];
  @Field(() => [GovernanceRevision], {
    description: 'The flow, every namespace and every secret read, at the revision (a secret: its version) read.',
  })
  used!: GovernanceRevision[];
  @Field(() => [FlowProblem]) problems!: FlowProblem[];
}

@ObjectType({ description: 'validateFlow: the problems of a source, and what it would run with, without saving it.' })
export class FlowValidation {
  @Field(() => Boolean) valid!: boolean;
  @Field(() => [FlowProblem]) problems!: FlowProblem[];
  @Field(() => ResolvedFlow, { nullable: true, description: 'Null when the source itself is invalid.' }) resolved!: ResolvedFlow | null;
}
