import { Field, ID, Int, ObjectType, registerEnumType } from 'type-graphql';
import type { AllowedNamespacesMode } from '../aggregates/namespace/allowed-namespaces.js';
import type { JsonObject, JsonValue } from '../shared/json.js';
import { DateTimeScalar, JSONScalar } from './scalars.js';

export const AllowedNamespacesModeEnum = { ALL: 'ALL', LIST: 'LIST', NONE: 'NONE' } as const;
registerEnumType(AllowedNamespacesModeEnum, { name: 'AllowedNamespacesMode', description: 'Which other namespaces may use a namespace.' });

@ObjectType()
export class PluginDefault {
  @Field(() => String) type!: string;
  @Field(() => Boolean) forced!: boolean;
  @Field(() => JSONScalar) values!: JsonObject;
  @Field(() => String, { nullable: true, description: 'Namespace the default comes from (for inherited defaults).' })
  namespace?: string | null;
}

@ObjectType({ description: 'A variable as seen from a namespace, with the namespace it comes from.' })
export class InheritedVariable {
  @Field(() => String) key!: string;
  @Field(() => JSONScalar, { nullable: true }) value!: JsonValue;
  @Field(() => String) namespace!: string;
}

@ObjectType({
  description:
    'Credentials a cloud provider’s SDK-based plugins use when a task sets none (Kestra’s namespace default authentication), by reference only.',
})
export class DefaultAuthentication {
  @Field(() => String, { description: 'aws, gcp, azure, …: one entry per provider and namespace.' }) provider!: string;
  @Field(() => String, { description: 'The plugin type prefix it applies to, e.g. io.kestra.plugin.aws.' }) pluginType!: string;
  @Field(() => ID, { nullable: true, description: 'A service account of the tenant the tasks act as.' }) serviceAccountId!: string | null;
  @Field(() => JSONScalar, { description: 'Credential field → KEY of a namespace secret (never a value).' }) secretRefs!: Record<
    string,
    string
  >;
  @Field(() => String, { nullable: true, description: 'The namespace that set it (inherited entries).' }) namespace?: string | null;
}

@ObjectType({ description: 'A folder in the dotted hierarchy of a tenant.' })
export class Namespace {
  @Field(() => ID) id!: string;
  @Field(() => Boolean, { description: 'false: a placeholder, referenced by a flow but never created.' }) existing!: boolean;
  @Field(() => String, { nullable: true }) description!: string | null;
  @Field(() => JSONScalar) variables!: JsonObject;
  @Field(() => [PluginDefault]) pluginDefaults!: PluginDefault[];
  @Field(() => [String], { description: 'Namespaces allowed to use its flows and secrets; empty = all.' }) allowedNamespaces!: string[];
  @Field(() => AllowedNamespacesModeEnum, {
    description: 'ALL (the default): every namespace may use it; LIST: only allowedNamespaces; NONE: no other namespace.',
  })
  allowedNamespacesMode!: AllowedNamespacesMode;
  @Field(() => [DefaultAuthentication], { description: 'Its own default authentications; see inheritedDefaultAuthentications.' })
  defaultAuthentications!: DefaultAuthentication[];
  @Field(() => Int) revision!: number;
  @Field(() => DateTimeScalar, { nullable: true }) createdAt!: string | null;
  @Field(() => DateTimeScalar, { nullable: true }) updatedAt!: string | null;
}

@ObjectType({ description: 'Whether one namespace may use another (its flows, secrets, files), and the rule that decided.' })
export class NamespaceUsage {
  @Field(() => String) from!: string;
  @Field(() => String) to!: string;
  @Field(() => Boolean) allowed!: boolean;
  @Field(() => String, {
    description:
      "SAME_NAMESPACE, NO_SETTINGS (the target was never created or is deleted), ALL_NAMESPACES, LISTED, NOT_LISTED or NO_NAMESPACES: the target's setting that decided.",
  })
  rule!: string;
  @Field(() => Int, { nullable: true, description: 'Revision of the target namespace whose setting decided; null when it has none.' })
  revision!: number | null;
}

@ObjectType()
export class DeletionPlanNamespace {
  @Field(() => String) id!: string;
  @Field(() => Boolean, { description: 'false: a placeholder that only holds flows or secrets.' }) existing!: boolean;
  @Field(() => Int) revision!: number;
}

@ObjectType()
export class DeletionPlanFlow {
  @Field(() => String) namespace!: string;
  @Field(() => String) id!: string;
  @Field(() => Int) revision!: number;
}

@ObjectType()
export class DeletionPlanSecret {
  @Field(() => String) namespace!: string;
  @Field(() => String) key!: string;
  @Field(() => Int) version!: number;
}

@ObjectType()
export class DeletionPlanBinding {
  @Field(() => String) id!: string;
  @Field(() => String) principalType!: string;
  @Field(() => String) principalId!: string;
  @Field(() => String) roleId!: string;
  @Field(() => String) namespace!: string;
}

@ObjectType({ description: 'What deleteNamespace with the same arguments would delete; nothing is written.' })
export class NamespaceDeletionPlan {
  @Field(() => [DeletionPlanNamespace], { description: 'Deepest first; the namespace asked for last.' })
  namespaces!: DeletionPlanNamespace[];
  @Field(() => [DeletionPlanFlow]) flows!: DeletionPlanFlow[];
  @Field(() => [DeletionPlanSecret], { description: 'Metadata only.' }) secrets!: DeletionPlanSecret[];
  @Field(() => [DeletionPlanBinding]) bindings!: DeletionPlanBinding[];
  @Field(() => String, { nullable: true, description: 'Why the delete would be refused (CONFLICT), or null.' }) refusal!: string | null;
}
