import { Field, ID, InputType } from 'type-graphql';
import type { AllowedNamespacesMode } from '../aggregates/namespace/allowed-namespaces.js';
import { AllowedNamespacesModeEnum } from './namespace.type.js';
import { JSONScalar } from './scalars.js';

@InputType({ description: 'The default authentication of one provider (setNamespaceDefaultAuthentication), by reference only.' })
export class DefaultAuthenticationInput {
  @Field(() => String, { description: 'aws, gcp, azure or another lowercase name.' }) provider!: string;
  @Field(() => String, {
    nullable: true,
    description: 'Plugin type prefix; absent: io.kestra.plugin.<provider> (aws, gcp and azure are Kestra’s own).',
  })
  pluginType?: string | null;
  @Field(() => ID, { nullable: true, description: 'A service account of this tenant.' }) serviceAccountId?: string | null;
  @Field(() => JSONScalar, {
    nullable: true,
    description:
      'Credential field → secret KEY, e.g. {"accessKeyId": "AWS_ACCESS_KEY_ID"}. A value that looks like a credential is refused.',
  })
  secretRefs?: unknown;
}

@InputType({ description: 'A plugin default: values for the tasks and triggers of a plugin type.' })
export class PluginDefaultInput {
  @Field(() => String, { description: 'The plugin type (or a prefix of it), e.g. io.kestra.plugin.core.log.Log.' }) type!: string;
  @Field(() => Boolean, {
    nullable: true,
    defaultValue: false,
    description: 'Override what the task sets, instead of filling in what it leaves out.',
  })
  forced?: boolean;
  @Field(() => JSONScalar, { nullable: true, description: 'Property → value, a JSON object; absent: {}.' }) values?: unknown;
}

@InputType({ description: 'A new namespace (createNamespace); its ancestors need not exist.' })
export class CreateNamespaceInput {
  @Field(() => ID, { description: 'Dotted id, e.g. company.team: ^[a-z0-9][a-z0-9._-]*$, at most 150, no empty segment.' }) id!: string;
  @Field(() => String, { nullable: true, description: 'Free-text description.' }) description?: string | null;
}

@InputType({ description: 'What updateNamespace changes; absent fields stay as they are, and each given one replaces the whole setting.' })
export class UpdateNamespaceInput {
  @Field(() => String, { nullable: true, description: 'Absent: unchanged; null: cleared.' }) description?: string | null;
  @Field(() => JSONScalar, { nullable: true, description: 'Replaces all variables with this JSON object ({} clears them).' })
  variables?: unknown;
  @Field(() => [PluginDefaultInput], { nullable: true, description: 'Replaces all plugin defaults ([] clears them).' })
  pluginDefaults?: PluginDefaultInput[] | null;
  @Field(() => [String], { nullable: true, description: 'The namespaces that may use this one (see allowedNamespacesMode).' })
  allowedNamespaces?: string[] | null;
  @Field(() => AllowedNamespacesModeEnum, {
    nullable: true,
    description: 'ALL or NONE take no list; LIST needs one. Without it, a list alone means LIST, and an empty list ALL.',
  })
  allowedNamespacesMode?: AllowedNamespacesMode | null;
  @Field(() => String, {
    nullable: true,
    description: 'Replaces all variables with this YAML mapping (instead of variables; an empty document clears them).',
  })
  variablesYaml?: string | null;
  @Field(() => String, {
    nullable: true,
    description:
      'Replaces all plugin defaults with this YAML list of {type, forced, values} (or a mapping holding it under pluginDefaults), instead of pluginDefaults.',
  })
  pluginDefaultsYaml?: string | null;
}
