import { Field, ID, Int, ObjectType, registerEnumType } from 'type-graphql';
import type { AllowedNamespacesMode, UsageRule } from '../aggregates/namespace/allowed-namespaces.js';
import type { DefaultAuthentication as DefaultAuthenticationView } from '../aggregates/namespace/default-authentication.js';
import type { PluginDefault as PluginDefaultView } from '../aggregates/namespace/namespace.js';
import type { DeletionPlan } from '../application/namespace-deletion.js';
import type { UsageAnswer } from '../application/namespace-usage.js';
import type { NamespaceView } from '../application/namespaces.js';
import type { VisibleVariable } from '../application/resolved-flows.js';
import type { JsonObject, JsonValue } from '../shared/json.js';
import { PrincipalTypeEnum } from './access.type.js';
import { CREATED_AT, DESCRIPTION_TEXT, REVISION, UPDATED_AT } from './descriptions.js';
import { DateTimeScalar, JSONScalar } from './scalars.js';

export const AllowedNamespacesModeEnum = { ALL: 'ALL', LIST: 'LIST', NONE: 'NONE' } as const;
registerEnumType(AllowedNamespacesModeEnum, {
  name: 'AllowedNamespacesMode',
  description: 'Which other namespaces may use a namespace.',
  valuesConfig: {
    ALL: { description: 'Every namespace of the tenant may use it (the default).' },
    LIST: { description: 'Only the namespaces in allowedNamespaces (and the namespace itself).' },
    NONE: { description: 'No other namespace may use it.' },
  },
});

@ObjectType({
  description: 'Property values that tasks and triggers of a plugin type get when they do not set them (Kestra plugin defaults).',
})
export class PluginDefault implements PluginDefaultView {
  @Field(() => String, { description: 'The plugin type (or a prefix of it) the values apply to, e.g. io.kestra.plugin.core.log.Log.' })
  type!: string;
  @Field(() => Boolean, { description: 'Forced: the values override what the task sets, instead of filling in what it leaves out.' })
  forced!: boolean;
  @Field(() => JSONScalar, { description: 'Property → value, as a JSON object.' }) values!: JsonObject;
  @Field(() => String, { nullable: true, description: 'Namespace the default comes from (for inherited defaults).' })
  namespace?: string | null;
}

@ObjectType({ description: 'A variable as seen from a namespace, with the namespace it comes from.' })
export class InheritedVariable implements VisibleVariable {
  @Field(() => String, { description: 'The variable name.' }) key!: string;
  @Field(() => JSONScalar, { nullable: true, description: 'Its value, any JSON.' }) value!: JsonValue;
  @Field(() => String, { description: 'The namespace that sets it (the nearest that does).' }) namespace!: string;
}

@ObjectType({
  description:
    'Credentials a cloud provider’s SDK-based plugins use when a task sets none (Kestra’s namespace default authentication), by reference only.',
})
export class DefaultAuthentication implements DefaultAuthenticationView {
  @Field(() => String, { description: 'aws, gcp, azure, …: one entry per provider and namespace.' }) provider!: string;
  @Field(() => String, { description: 'The plugin type prefix it applies to, e.g. io.kestra.plugin.aws.' }) pluginType!: string;
  @Field(() => ID, { nullable: true, description: 'A service account of the tenant the tasks act as.' }) serviceAccountId!: string | null;
  @Field(() => JSONScalar, { description: 'Credential field → KEY of a namespace secret (never a value).' }) secretRefs!: Record<
    string,
    string
  >;
  @Field(() => String, { nullable: true, description: 'The namespace that set it (inherited entries).' }) namespace?: string | null;
}

// tenantId: the tenant is the endpoint's. flowCount and secretCount: what deleteNamespace checks (namespaces.ts), not
// part of the API. The inherited* fields are field resolvers (namespace.resolver.ts).
@ObjectType({ description: 'A folder in the dotted hierarchy of a tenant.' })
export class Namespace implements Omit<NamespaceView, 'tenantId' | 'flowCount' | 'secretCount'> {
  @Field(() => ID, { description: 'The dotted namespace id, e.g. company.team: ^[a-z0-9][a-z0-9._-]*$, at most 150.' }) id!: string;
  @Field(() => Boolean, { description: 'false: a placeholder, referenced by a flow but never created.' }) existing!: boolean;
  @Field(() => String, { nullable: true, description: DESCRIPTION_TEXT }) description!: string | null;
  @Field(() => JSONScalar, { description: 'Its own variables, a JSON object (see inheritedVariables for what its flows see).' })
  variables!: JsonObject;
  @Field(() => [PluginDefault], { description: 'Its own plugin defaults (see inheritedPluginDefaults).' }) pluginDefaults!: PluginDefault[];
  @Field(() => [String], { description: 'Namespaces allowed to use its flows and secrets; empty = all.' }) allowedNamespaces!: string[];
  @Field(() => AllowedNamespacesModeEnum, {
    description: 'ALL (the default): every namespace may use it; LIST: only allowedNamespaces; NONE: no other namespace.',
  })
  allowedNamespacesMode!: AllowedNamespacesMode;
  @Field(() => [DefaultAuthentication], { description: 'Its own default authentications; see inheritedDefaultAuthentications.' })
  defaultAuthentications!: DefaultAuthentication[];
  @Field(() => Int, { description: `${REVISION} 0 for a placeholder never created.` }) revision!: number;
  @Field(() => DateTimeScalar, { nullable: true, description: `${CREATED_AT} Null for a placeholder never created.` }) createdAt!:
    string | null;
  @Field(() => DateTimeScalar, { nullable: true, description: `${UPDATED_AT} Null for a placeholder never created.` }) updatedAt!:
    string | null;
}

@ObjectType({ description: 'Whether one namespace may use another (its flows, secrets, files), and the rule that decided.' })
export class NamespaceUsage implements UsageAnswer {
  @Field(() => String, { description: 'The namespace that would use the other.' }) from!: string;
  @Field(() => String, { description: 'The namespace being used, whose setting decides.' }) to!: string;
  @Field(() => Boolean, { description: '`from` may use `to`.' }) allowed!: boolean;
  @Field(() => String, {
    description:
      "SAME_NAMESPACE, NO_SETTINGS (the target was never created or is deleted), ALL_NAMESPACES, LISTED, NOT_LISTED or NO_NAMESPACES: the target's setting that decided.",
  })
  rule!: UsageRule;
  @Field(() => Int, { nullable: true, description: 'Revision of the target namespace whose setting decided; null when it has none.' })
  revision!: number | null;
}

type PlannedNamespace = DeletionPlan['namespaces'][number];
type PlannedFlow = DeletionPlan['flows'][number];
type PlannedSecret = DeletionPlan['secrets'][number];
type PlannedBinding = DeletionPlan['bindings'][number];

@ObjectType({ description: 'A namespace deleteNamespace would delete.' })
export class DeletionPlanNamespace implements PlannedNamespace {
  @Field(() => String, { description: 'The namespace id.' }) id!: string;
  @Field(() => Boolean, { description: 'false: a placeholder that only holds flows or secrets.' }) existing!: boolean;
  @Field(() => Int, { description: 'Its revision now (0 for a placeholder never created).' }) revision!: number;
}

@ObjectType({ description: 'A flow deleteNamespace would delete (with force).' })
export class DeletionPlanFlow implements PlannedFlow {
  @Field(() => String, { description: 'Its namespace.' }) namespace!: string;
  @Field(() => String, { description: 'The flow id.' }) id!: string;
  @Field(() => Int, { description: 'Its flow revision now.' }) revision!: number;
}

@ObjectType({ description: 'A secret deleteNamespace would delete (with force), value and all versions; metadata only here.' })
export class DeletionPlanSecret implements PlannedSecret {
  @Field(() => String, { description: 'Its namespace.' }) namespace!: string;
  @Field(() => String, { description: 'The secret key.' }) key!: string;
  @Field(() => Int, { description: 'Its current version.' }) version!: number;
}

@ObjectType({ description: 'A binding scoped to a deleted namespace, which deleteNamespace would delete (with force).' })
export class DeletionPlanBinding implements PlannedBinding {
  @Field(() => String, { description: 'The binding id.' }) id!: string;
  @Field(() => PrincipalTypeEnum, { description: 'What kind of principal holds it.' }) principalType!: string;
  @Field(() => String, { description: 'Who holds it.' }) principalId!: string;
  @Field(() => String, { description: 'The role it grants.' }) roleId!: string;
  @Field(() => String, { description: 'The namespace it is scoped to.' }) namespace!: string;
}

@ObjectType({ description: 'What deleteNamespace with the same arguments would delete; nothing is written.' })
export class NamespaceDeletionPlan implements DeletionPlan {
  @Field(() => [DeletionPlanNamespace], { description: 'Deepest first; the namespace asked for last.' })
  namespaces!: DeletionPlanNamespace[];
  @Field(() => [DeletionPlanFlow], { description: 'Flows that would be deleted.' }) flows!: DeletionPlanFlow[];
  @Field(() => [DeletionPlanSecret], { description: 'Metadata only.' }) secrets!: DeletionPlanSecret[];
  @Field(() => [DeletionPlanBinding], { description: 'Bindings scoped to those namespaces that would be deleted.' })
  bindings!: DeletionPlanBinding[];
  @Field(() => String, { nullable: true, description: 'Why the delete would be refused (CONFLICT), or null.' }) refusal!: string | null;
}
