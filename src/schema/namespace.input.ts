import { Field, ID, InputType } from 'type-graphql';
import type { AllowedNamespacesMode } from '../aggregates/namespace/allowed-namespaces.js';
import { AllowedNamespacesModeEnum } from './namespace.type.js';
import { JSONScalar } from './scalars.js';

@InputType()
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

@InputType()
export class PluginDefaultInput {
  @Field(() => String) type!: string;
  @Field(() => Boolean, { nullable: true, defaultValue: false }) forced?: boolean;
  @Field(() => JSONScalar, { nullable: true }) values?: unknown;
}

@InputType()
export class CreateNamespaceInput {
  @Field(() => ID) id!: string;
  @Field(() => String, { nullable: true }) description?: string | null;
}

@InputType()
export class UpdateNamespaceInput {
  @Field(() => String, { nullable: true }) description?: string | null;
  @Field(() => JSONScalar, { nullable: true }) variables?: unknown;
  @Field(() => [PluginDefaultInput], { nullable: true }) pluginDefaults?: PluginDefaultInput[] | null;
  @Field(() => [String], { nullable: true }) allowedNamespaces?: string[] | null;
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
