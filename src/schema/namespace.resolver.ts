import { Arg, Ctx, FieldResolver, ID, Int, Mutation, Query, Resolver, Root } from 'type-graphql';
import type { PluginDefault as PluginDefaultValue } from '../aggregates/namespace/namespace.js';
import { inheritedDefaultAuthentications } from '../application/default-authentications.js';
import { namespaceView, type NamespaceView } from '../application/namespaces.js';
import { namespaceLineage } from '../shared/ids.js';
import type { JsonObject } from '../shared/json.js';
import { AS_OF, DELETE_CHILDREN, DELETE_FORCE, EXPECTED_REVISION } from './descriptions.js';
import { reached, requireTenant, type GraphQLContext } from './context.js';
import { CreateNamespaceInput, DefaultAuthenticationInput, PluginDefaultInput, UpdateNamespaceInput } from './namespace.input.js';
import {
  DefaultAuthentication,
  InheritedVariable,
  Namespace,
  NamespaceDeletionPlan,
  NamespaceUsage,
  PluginDefault,
} from './namespace.type.js';
import { DateTimeScalar, JSONScalar } from './scalars.js';

interface Inherited<T> {
  namespace: string;
  value: T;
}

@Resolver(() => Namespace)
export class NamespaceResolver {
  @Query(() => [Namespace], { description: 'Namespaces the caller may list, placeholders included unless existingOnly.' })
  namespaces(
    @Arg('existingOnly', () => Boolean, {
      defaultValue: false,
      description: 'Leave out placeholders (namespaces that flows or secrets name but nobody created).',
    })
    existingOnly: boolean,
    @Arg('prefix', () => String, {
      nullable: true,
      description: 'Only namespaces whose id starts with this text, e.g. `company.` for the subtree of company.',
    })
    prefix: string | null,
    @Ctx() ctx: GraphQLContext,
  ) {
    return ctx.services.namespaces.list(ctx.caller, requireTenant(ctx), { existingOnly, prefix });
  }

  @Query(() => Namespace, {
    nullable: true,
    description:
      'One namespace, placeholder or not; asOf: as it was then. Null when it does not exist (or did not then) or the caller may not view it.',
  })
  namespace(
    @Arg('id', () => ID, { description: 'The namespace id.' }) id: string,
    @Arg('asOf', () => DateTimeScalar, { nullable: true, description: AS_OF }) asOf: Date | null,
    @Ctx() ctx: GraphQLContext,
  ) {
    return ctx.services.namespaces.get(ctx.caller, requireTenant(ctx), id, asOf);
  }

  @Query(() => NamespaceUsage, {
    nullable: true,
    description: "May namespace `from` use namespace `to`? Decided by to's allowed namespaces; null without NAMESPACE:VIEW on to.",
  })
  mayUseNamespace(
    @Arg('from', () => String, { description: 'The namespace that would use the other (where the flow runs).' }) from: string,
    @Arg('to', () => String, { description: 'The namespace it would use.' }) to: string,
    @Ctx() ctx: GraphQLContext,
  ) {
    return ctx.services.namespaceUsage.decide(ctx.caller, requireTenant(ctx), from, to);
  }

  @Mutation(() => Namespace, {
    nullable: true,
    description: 'Needs NAMESPACE:CREATE on it. CONFLICT when it exists already (a placeholder becomes a created namespace).',
  })
  async createNamespace(
    @Arg('input', () => CreateNamespaceInput, { description: 'The new namespace.' }) input: CreateNamespaceInput,
    @Ctx() ctx: GraphQLContext,
  ) {
    return reached(ctx, await ctx.services.namespaces.create(ctx.caller, requireTenant(ctx), { ...input })).namespace;
  }

  @Mutation(() => Namespace, {
    nullable: true,
    description:
      'Needs NAMESPACE:UPDATE. Replaces each setting given in input (variables, plugin defaults, allowed namespaces, description); see the set/unset mutations to change one entry.',
  })
  async updateNamespace(
    @Arg('id', () => ID, { description: 'The namespace id.' }) id: string,
    @Arg('input', () => UpdateNamespaceInput, { description: 'The settings to change.' }) input: UpdateNamespaceInput,
    @Arg('expectedRevision', () => Int, { nullable: true, description: EXPECTED_REVISION }) expectedRevision: number | null,
    @Ctx() ctx: GraphQLContext,
  ) {
    const patch = {
      ...(input.description !== undefined ? { description: input.description } : {}),
      ...(input.variables !== undefined ? { variables: input.variables } : {}),
      ...(input.pluginDefaults != null ? { pluginDefaults: input.pluginDefaults.map((p) => ({ ...p })) } : {}),
      ...(input.allowedNamespaces != null ? { allowedNamespaces: input.allowedNamespaces } : {}),
      ...(input.allowedNamespacesMode != null ? { allowedNamespacesMode: input.allowedNamespacesMode } : {}),
      ...(input.variablesYaml != null ? { variablesYaml: input.variablesYaml } : {}),
      ...(input.pluginDefaultsYaml != null ? { pluginDefaultsYaml: input.pluginDefaultsYaml } : {}),
    };
    return reached(ctx, await ctx.services.namespaces.update(ctx.caller, requireTenant(ctx), id, patch, expectedRevision)).namespace;
  }

  @Mutation(() => Namespace, { nullable: true, description: 'Needs NAMESPACE:UPDATE. Sets one variable, leaving the others as they are.' })
  async setNamespaceVariable(
    @Arg('id', () => ID, { description: 'The namespace id.' }) id: string,
    @Arg('key', () => String, { description: 'The variable name.' }) key: string,
    @Arg('value', () => JSONScalar, { description: 'Its value, any JSON.' }) value: unknown,
    @Arg('expectedRevision', () => Int, { nullable: true, description: EXPECTED_REVISION }) expectedRevision: number | null,
    @Ctx() ctx: GraphQLContext,
  ) {
    const change = { kind: 'setVariable' as const, key, value };
    return reached(ctx, await ctx.services.namespaces.changeEntry(ctx.caller, requireTenant(ctx), id, change, expectedRevision)).namespace;
  }

  @Mutation(() => Namespace, {
    nullable: true,
    description: 'Removes one variable (nothing happens when it is not set), leaving the others.',
  })
  async unsetNamespaceVariable(
    @Arg('id', () => ID, { description: 'The namespace id.' }) id: string,
    @Arg('key', () => String, { description: 'The variable name.' }) key: string,
    @Arg('expectedRevision', () => Int, { nullable: true, description: EXPECTED_REVISION }) expectedRevision: number | null,
    @Ctx() ctx: GraphQLContext,
  ) {
    const change = { kind: 'unsetVariable' as const, key };
    return reached(ctx, await ctx.services.namespaces.changeEntry(ctx.caller, requireTenant(ctx), id, change, expectedRevision)).namespace;
  }

  @Mutation(() => Namespace, {
    nullable: true,
    description: 'Sets the plugin default of one (type, forced) pair, replacing only that entry; the others stay.',
  })
  async setNamespacePluginDefault(
    @Arg('id', () => ID, { description: 'The namespace id.' }) id: string,
    @Arg('pluginDefault', () => PluginDefaultInput, { description: 'The plugin default to set.' }) pluginDefault: PluginDefaultInput,
    @Arg('expectedRevision', () => Int, { nullable: true, description: EXPECTED_REVISION }) expectedRevision: number | null,
    @Ctx() ctx: GraphQLContext,
  ) {
    const change = { kind: 'setPluginDefault' as const, pluginDefault: { ...pluginDefault } };
    return reached(ctx, await ctx.services.namespaces.changeEntry(ctx.caller, requireTenant(ctx), id, change, expectedRevision)).namespace;
  }

  @Mutation(() => Namespace, {
    nullable: true,
    description: 'Removes the plugin default of one (type, forced) pair (nothing happens when absent).',
  })
  async unsetNamespacePluginDefault(
    @Arg('id', () => ID, { description: 'The namespace id.' }) id: string,
    @Arg('type', () => String, { description: 'The plugin type of the default to remove.' }) type: string,
    @Arg('forced', () => Boolean, {
      defaultValue: false,
      description: 'Remove the forced default of that type (true) or the other one (false).',
    })
    forced: boolean,
    @Arg('expectedRevision', () => Int, { nullable: true, description: EXPECTED_REVISION }) expectedRevision: number | null,
    @Ctx() ctx: GraphQLContext,
  ) {
    const change = { kind: 'unsetPluginDefault' as const, type, forced };
    return reached(ctx, await ctx.services.namespaces.changeEntry(ctx.caller, requireTenant(ctx), id, change, expectedRevision)).namespace;
  }

  @Mutation(() => Namespace, {
    nullable: true,
    description:
      'Sets the default authentication of one provider (replacing only that entry). NAMESPACE:UPDATE; a service account needs SERVICE_ACCOUNT:VIEW and its rights (or BINDING:ESCALATE). Raw credentials are refused.',
  })
  async setNamespaceDefaultAuthentication(
    @Arg('id', () => ID, { description: 'The namespace id.' }) id: string,
    @Arg('input', () => DefaultAuthenticationInput, { description: 'The provider and what its tasks authenticate with.' })
    input: DefaultAuthenticationInput,
    @Arg('expectedRevision', () => Int, { nullable: true, description: EXPECTED_REVISION }) expectedRevision: number | null,
    @Ctx() ctx: GraphQLContext,
  ) {
    return reached(ctx, await ctx.services.defaultAuthentications.set(ctx.caller, requireTenant(ctx), id, { ...input }, expectedRevision))
      .namespace;
  }

  @Mutation(() => Namespace, {
    nullable: true,
    description: 'Removes the default authentication of one provider (nothing happens when absent).',
  })
  async unsetNamespaceDefaultAuthentication(
    @Arg('id', () => ID, { description: 'The namespace id.' }) id: string,
    @Arg('provider', () => String, { description: 'The provider whose default authentication to remove, e.g. aws.' }) provider: string,
    @Arg('expectedRevision', () => Int, { nullable: true, description: EXPECTED_REVISION }) expectedRevision: number | null,
    @Ctx() ctx: GraphQLContext,
  ) {
    return reached(ctx, await ctx.services.defaultAuthentications.unset(ctx.caller, requireTenant(ctx), id, provider, expectedRevision))
      .namespace;
  }

  @Mutation(() => Namespace, {
    nullable: true,
    description: 'Brings a deleted namespace back with the settings it had when deleted (createNamespace would start empty).',
  })
  async restoreNamespace(
    @Arg('id', () => ID, { description: 'The namespace id.' }) id: string,
    @Arg('expectedRevision', () => Int, { nullable: true, description: EXPECTED_REVISION }) expectedRevision: number | null,
    @Ctx() ctx: GraphQLContext,
  ) {
    return reached(ctx, await ctx.services.namespaces.restore(ctx.caller, requireTenant(ctx), id, expectedRevision)).namespace;
  }

  @Query(() => NamespaceDeletionPlan, {
    description: 'The dry run of deleteNamespace: exactly what it would delete with the same arguments. Needs NAMESPACE:DELETE.',
  })
  deleteNamespaceDryRun(
    @Arg('id', () => ID, { description: 'The namespace id.' }) id: string,
    @Arg('force', () => Boolean, {
      defaultValue: false,
      description: DELETE_FORCE,
    })
    force: boolean,
    @Arg('includeChildren', () => Boolean, { defaultValue: false, description: DELETE_CHILDREN })
    includeChildren: boolean,
    @Ctx() ctx: GraphQLContext,
  ) {
    return ctx.services.namespaceDeletion.plan(ctx.caller, requireTenant(ctx), id, { force, includeChildren });
  }

  @Mutation(() => Namespace, {
    nullable: true,
    description:
      'Refused while flows or secrets remain, unless force (which deletes them, and the bindings scoped to the namespace, too); includeChildren deletes the namespaces below it first.',
  })
  async deleteNamespace(
    @Arg('id', () => ID, { description: 'The namespace id.' }) id: string,
    @Arg('force', () => Boolean, {
      defaultValue: false,
      description: DELETE_FORCE,
    })
    force: boolean,
    @Arg('includeChildren', () => Boolean, { defaultValue: false, description: DELETE_CHILDREN })
    includeChildren: boolean,
    @Arg('expectedRevision', () => Int, { nullable: true, description: EXPECTED_REVISION }) expectedRevision: number | null,
    @Ctx() ctx: GraphQLContext,
  ) {
    const options = { force, includeChildren, expectedRevision };
    return reached(ctx, await ctx.services.namespaceDeletion.delete(ctx.caller, requireTenant(ctx), id, options)).namespace;
  }

  /** Root to leaf: the namespace's ancestors that exist, then itself. Batched across a list by the DataLoader. */
  private async lineage(root: NamespaceView, ctx: GraphQLContext): Promise<NamespaceView[]> {
    const ancestors = namespaceLineage(root.id).slice(0, -1);
    const docs = await ctx.loaders.namespace(root.tenantId).loadMany(ancestors);
    const found = docs.filter((d): d is Exclude<typeof d, Error | null> => d !== null && !(d instanceof Error) && d.existing);
    return [...found.map(namespaceView), root];
  }

  @FieldResolver(() => JSONScalar, { description: 'Merged from the root down to this namespace; nearest wins.' })
  async inheritedVariables(@Root() root: NamespaceView, @Ctx() ctx: GraphQLContext): Promise<JsonObject> {
    const merged: JsonObject = {};
    for (const item of await this.inheritedVariableItems(root, ctx)) merged[item.key] = item.value;
    return merged;
  }

  @FieldResolver(() => [InheritedVariable], { description: 'Each effective variable with the namespace it comes from.' })
  async inheritedVariableSources(@Root() root: NamespaceView, @Ctx() ctx: GraphQLContext): Promise<InheritedVariable[]> {
    return this.inheritedVariableItems(root, ctx);
  }

  private async inheritedVariableItems(root: NamespaceView, ctx: GraphQLContext): Promise<InheritedVariable[]> {
    const byKey = new Map<string, InheritedVariable>();
    for (const ns of await this.lineage(root, ctx)) {
      for (const [key, value] of Object.entries(ns.variables)) byKey.set(key, { key, value, namespace: ns.id });
    }
    return [...byKey.values()].sort((a, b) => a.key.localeCompare(b.key));
  }

  @FieldResolver(() => [DefaultAuthentication], {
    description: 'Per provider, the nearest default authentication from the root down to this namespace, with the namespace that set it.',
  })
  async inheritedDefaultAuthentications(@Root() root: NamespaceView, @Ctx() ctx: GraphQLContext): Promise<DefaultAuthentication[]> {
    return inheritedDefaultAuthentications(await this.lineage(root, ctx));
  }

  @FieldResolver(() => [PluginDefault], {
    description: 'Per plugin type: the nearest non-forced default and the outermost forced one, each with its namespace.',
  })
  async inheritedPluginDefaults(@Root() root: NamespaceView, @Ctx() ctx: GraphQLContext): Promise<PluginDefault[]> {
    const nearest = new Map<string, Inherited<PluginDefaultValue>>();
    const outermostForced = new Map<string, Inherited<PluginDefaultValue>>();
    for (const ns of await this.lineage(root, ctx)) {
      for (const pd of ns.pluginDefaults) {
        if (pd.forced) {
          if (!outermostForced.has(pd.type)) outermostForced.set(pd.type, { namespace: ns.id, value: pd });
        } else {
          nearest.set(pd.type, { namespace: ns.id, value: pd });
        }
      }
    }
    return [...nearest.values(), ...outermostForced.values()]
      .map(({ namespace, value }) => ({ ...value, namespace }))
      .sort((a, b) => a.type.localeCompare(b.type) || Number(a.forced) - Number(b.forced));
  }
}
