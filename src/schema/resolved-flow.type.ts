import { Field, ID, Int, ObjectType } from 'type-graphql';
import type { FlowPlugin } from '../aggregates/flow/flow-plugins.js';
import type { AppliedDefault, PropertySource as PropertySourceView } from '../aggregates/plugin-defaults.js';
import type {
  AppliedAuthentication,
  CheckedExpressionReference,
  CheckedNamespaceReference,
  CheckedSecretRef as CheckedSecretRefView,
  FlowProblem as FlowProblemView,
  FlowValidation as FlowValidationView,
  GovernanceRevision as GovernanceRevisionView,
  ReferenceStatus,
  ResolvedFlowView,
  ResolvedPlugin as ResolvedPluginView,
} from '../application/resolved-flows.js';
import type { JsonObject } from '../shared/json.js';
import { InheritedVariable, PluginDefault } from './namespace.type.js';
import { ExpressionKindEnum, GovernanceKindEnum, PluginKindEnum, ReferenceStatusEnum } from './resolved-flow.enums.js';
import { DateTimeScalar, JSONScalar } from './scalars.js';

// The view is a union (TASK; or DEFAULT with the default's type, forced and namespace), which a class cannot implement:
// GraphQL has one type, those three nullable.
@ObjectType({ description: 'What decided one top-level property of a resolved task or trigger.' })
export class PropertySource implements Pick<PropertySourceView, 'key' | 'from'> {
  @Field(() => String, { description: 'The property.' }) key!: string;
  @Field(() => String, { description: 'TASK: written in the task itself. DEFAULT: a plugin default (type, forced, namespace say which).' })
  from!: 'TASK' | 'DEFAULT';
  @Field(() => String, { nullable: true, description: 'DEFAULT: the plugin type the default was set for; null for TASK.' }) type?:
    string | null;
  @Field(() => Boolean, { nullable: true, description: 'DEFAULT: a forced default (it overrides the task); null for TASK.' })
  forced?: boolean | null;
  @Field(() => String, { nullable: true, description: 'The namespace the default was set on; null for the flow itself.' })
  namespace?: string | null;
}

@ObjectType({
  description: 'A credential field of a default authentication, and the secret KEY it is taken from, checked (never a value).',
})
export class CheckedSecretRef implements CheckedSecretRefView {
  @Field(() => String, { description: 'The credential field, e.g. accessKeyId.' }) field!: string;
  @Field(() => String, { description: 'The secret key.' }) key!: string;
  @Field(() => ReferenceStatusEnum, {
    description: 'FOUND, MISSING, or NOT_VISIBLE (the caller may not list secrets in some namespace of the lineage).',
  })
  status!: ReferenceStatus;
  @Field(() => String, { nullable: true, description: 'Where the secret was found (nearest to the flow).' }) namespace!: string | null;
  @Field(() => Int, { nullable: true, description: "The secret's version." }) revision!: number | null;
}

@ObjectType({
  description: 'The namespace default authentication a task falls under, from the nearest namespace that sets one for its provider.',
})
export class AppliedDefaultAuthentication implements AppliedAuthentication {
  @Field(() => String, { description: 'The provider, e.g. aws.' }) provider!: string;
  @Field(() => String, { description: 'The plugin type prefix it applies to, e.g. io.kestra.plugin.aws.' }) pluginType!: string;
  @Field(() => String, { description: 'The namespace that set it.' }) namespace!: string;
  @Field(() => ID, { nullable: true, description: 'The service account the task acts as; null: none named.' })
  serviceAccountId!: string | null;
  @Field(() => String, {
    nullable: true,
    description: 'FOUND, MISSING, DISABLED or NOT_VISIBLE (no SERVICE_ACCOUNT:VIEW); null: none named.',
  })
  serviceAccountStatus!: AppliedAuthentication['serviceAccountStatus'];
  @Field(() => [CheckedSecretRef], { description: 'Each credential field and the secret it is taken from, checked.' })
  secretRefs!: CheckedSecretRef[];
}

@ObjectType({ description: 'A task or trigger of a flow, with the plugin defaults applied.' })
export class ResolvedPlugin implements ResolvedPluginView {
  @Field(() => PluginKindEnum, { description: 'TASK or TRIGGER.' }) kind!: FlowPlugin['kind'];
  @Field(() => String, { description: 'Its id in the flow.' }) id!: string;
  @Field(() => String, { description: 'Plugin type, e.g. io.kestra.plugin.core.log.Log.' }) type!: string;
  @Field(() => String, { description: 'Where it is in the source, e.g. tasks[1].then[0].' }) path!: string;
  @Field(() => JSONScalar, { description: 'Its properties (without id, type and nested task lists) after the plugin defaults.' })
  properties!: JsonObject;
  @Field(() => [PluginDefault], {
    description: 'The plugin defaults that match its type, strongest first (namespace null: the flow-level pluginDefaults).',
  })
  // Typed as the view: PluginDefault's own type leaves `namespace` optional (a namespace's own defaults have none).
  pluginDefaults!: AppliedDefault[];
  @Field(() => [PropertySource], { description: 'For each top-level property, whether the task or a default decided it.' })
  // Typed as the view, a union PropertySource flattens (above).
  propertySources!: PropertySourceView[];
  @Field(() => AppliedDefaultAuthentication, { nullable: true, description: 'Null: no namespace of the lineage sets one for its type.' })
  defaultAuthentication!: AppliedDefaultAuthentication | null;
}

@ObjectType({ description: 'A governance object a resolution read, at the revision it read.' })
export class GovernanceRevision implements GovernanceRevisionView {
  @Field(() => GovernanceKindEnum, { description: 'FLOW, NAMESPACE or SECRET.' }) kind!: GovernanceRevisionView['kind'];
  @Field(() => String, { description: 'The flow (`namespace.id`), namespace or secret (`namespace/KEY`) read.' }) id!: string;
  @Field(() => Int, { description: 'The revision read (a secret: its version).' }) revision!: number;
}

@ObjectType({ description: 'A problem found in a flow, named so that an editor can point at it.' })
export class FlowProblem implements FlowProblemView {
  @Field(() => String, {
    description:
      'What kind of problem, for programs: INVALID_SOURCE (validateFlow only), INVALID_PLUGIN_DEFAULTS, MISSING_SECRET, UNKNOWN_VARIABLE, NAMESPACE_NOT_ALLOWED, MISSING_AUTHENTICATION_SECRET, MISSING_SERVICE_ACCOUNT or DISABLED_SERVICE_ACCOUNT.',
  })
  code!: string;
  @Field(() => String, { description: 'What is wrong, for people.' }) message!: string;
  @Field(() => String, { nullable: true, description: 'Where in the source, e.g. tasks[1].type; null when the whole source.' })
  path!: string | null;
}

@ObjectType({
  description: 'A secret or namespace variable an expression of the flow uses, checked (secret metadata only, never a value).',
})
export class ExpressionReference implements CheckedExpressionReference {
  @Field(() => ExpressionKindEnum, { description: 'SECRET or VARIABLE.' }) kind!: CheckedExpressionReference['kind'];
  @Field(() => String, { description: 'The secret key, or the path below namespace. (e.g. db.host).' }) name!: string;
  @Field(() => String, { description: 'Where the expression is (→ follows a render() into a variable).' }) path!: string;
  @Field(() => Boolean, { description: "Inside render(...): the variable's own expressions are checked too." }) rendered!: boolean;
  @Field(() => ReferenceStatusEnum, {
    description:
      'FOUND, MISSING, or NOT_VISIBLE (not found where the caller may list secrets, and some namespaces are hidden from the caller).',
  })
  status!: CheckedExpressionReference['status'];
  @Field(() => String, { nullable: true, description: 'The namespace it was found in.' }) namespace!: string | null;
  @Field(() => Int, { nullable: true, description: "The secret's version, or the revision of the namespace that sets the variable." })
  revision!: number | null;
}

@ObjectType({ description: 'Another namespace a task or trigger names, and whether that namespace allows it.' })
export class NamespaceReference implements CheckedNamespaceReference {
  @Field(() => String, { description: 'Id of the task or trigger.' }) plugin!: string;
  @Field(() => String, { description: 'Where the reference is in the source.' }) path!: string;
  @Field(() => String, { description: 'The namespace it names.' }) namespace!: string;
  @Field(() => Boolean, { description: "The named namespace's allowed namespaces let the flow's namespace use it." }) allowed!: boolean;
  @Field(() => String, { description: 'The rule that decided, as NamespaceUsage.rule.' }) rule!: string;
  @Field(() => Int, { nullable: true, description: 'Revision of the named namespace whose setting decided; null when it has none.' })
  revision!: number | null;
}

// tenantId: the tenant is the endpoint's.
@ObjectType({ description: 'What a flow would run with: plugin defaults applied, and the revisions of what was read.' })
export class ResolvedFlow implements Omit<ResolvedFlowView, 'tenantId'> {
  @Field(() => String, { description: 'The namespace of the flow.' }) namespace!: string;
  @Field(() => ID, { description: 'The flow id.' }) id!: string;
  @Field(() => Int, { nullable: true, description: 'The flow revision resolved (null for validateFlow: the source is not saved).' })
  revision!: number | null;
  @Field(() => DateTimeScalar, { nullable: true, description: 'The instant it was resolved as of; null: now.' }) asOf!: string | null;
  @Field(() => [ResolvedPlugin], { description: 'Every task and trigger, nested ones included, in source order.' })
  plugins!: ResolvedPlugin[];
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
  @Field(() => [FlowProblem], {
    description: 'What would go wrong (a missing secret, a namespace that refuses the reference, …); empty when nothing.',
  })
  problems!: FlowProblem[];
}

// resolved: a ResolvedFlow, the view without its tenantId.
@ObjectType({ description: 'validateFlow: the problems of a source, and what it would run with, without saving it.' })
export class FlowValidation implements Omit<FlowValidationView, 'resolved'> {
  @Field(() => Boolean, { description: 'No problems at all: the source parses and everything it uses is there and allowed.' })
  valid!: boolean;
  @Field(() => [FlowProblem], { description: 'Every problem found, in the source and in what it uses.' }) problems!: FlowProblem[];
  @Field(() => ResolvedFlow, { nullable: true, description: 'Null when the source itself is invalid.' }) resolved!: ResolvedFlow | null;
}
