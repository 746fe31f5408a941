import { Field, ID, InputType, Int, ObjectType } from 'type-graphql';
import type { JsonObject, JsonValue } from '../shared/json.js';
import { DateTimeScalar, JSONScalar } from './scalars.js';

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

@ObjectType({ description: 'A folder in the dotted hierarchy of a tenant.' })
export class Namespace {
  @Field(() => ID) id!: string;
  @Field(() => Boolean, { description: 'false: a placeholder, referenced by a flow but never created.' }) existing!: boolean;
  @Field(() => String, { nullable: true }) description!: string | null;
  @Field(() => JSONScalar) variables!: JsonObject;
  @Field(() => [PluginDefault]) pluginDefaults!: PluginDefault[];
  @Field(() => [String], { description: 'Namespaces allowed to use its flows and secrets; empty = all.' }) allowedNamespaces!: string[];
  @Field(() => Int) revision!: number;
  @Field(() => DateTimeScalar, { nullable: true }) createdAt!: string | null;
  @Field(() => DateTimeScalar, { nullable: true }) updatedAt!: string | null;
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
