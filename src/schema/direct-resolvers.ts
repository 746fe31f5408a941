import { isObjectType, type GraphQLFieldResolver, type GraphQLSchema } from 'graphql';
import { getMetadataStorage } from 'type-graphql';

type Handler = (...params: unknown[]) => unknown;
type ParamKind = 'root' | 'context' | 'info';

/**
 * type-graphql calls every field resolver through a generic wrapper: a
 * container lookup, a parameter list sorted and mapped on each call, the
 * source converted to its class. For a field resolved once per item of a
 * page (a flow's `namespaceRef`, 50 times a page), that wrapper cost more
 * than the resolver itself (3.6% of the flows page's CPU). This replaces it,
 * on the built schema, for the field resolvers that take nothing but the
 * source as it is (`@Root()` of a plain object type), the context and the
 * info, in the order they declare: the method is called directly on one
 * instance of its resolver class. Resolvers with arguments, middlewares,
 * roles, a constructor, or a `@Root` type type-graphql would convert keep
 * type-graphql's wrapper. Returns the fields it changed (`Type.field`).
 */
export function callFieldResolversDirectly(schema: GraphQLSchema): string[] {
  const storage = getMetadataStorage();
  const typeNames = new Map<unknown, string>(storage.objectTypes.map((o) => [o.target, o.name] as const));
  const instances = new Map<unknown, Record<string, unknown>>();
  const changed: string[] = [];
  for (const meta of storage.fieldResolvers) {
    if (meta.kind !== 'external' || (meta.middlewares?.length ?? 0) > 0 || meta.roles !== undefined) continue;
    const kinds = directParams(meta.params ?? []);
    if (!kinds) continue;
    const typeName = typeNames.get(meta.getObjectType?.());
    const type = typeName === undefined ? undefined : schema.getType(typeName);
    if (!isObjectType(type)) continue;
    const field = type.getFields()[meta.schemaName];
    const target = meta.target as { new (): Record<string, unknown>; length: number };
    if (!field?.resolve || target.length !== 0) continue;
    let instance = instances.get(target);
    if (!instance) instances.set(target, (instance = new target()));
    const method = instance[meta.methodName];
    if (typeof method !== 'function') continue;
    field.resolve = direct(instance, method as Handler, kinds);
    changed.push(`${type.name}.${field.name}`);
  }
  return changed;
}

/** The parameter kinds in order, or null when one of them needs type-graphql (arguments, conversions, pubsub). */
function directParams(
  params: readonly { kind: string; index: number; propertyName?: string | undefined; getType?: (() => unknown) | undefined }[],
): ParamKind[] | null {
  const kinds: ParamKind[] = [];
  for (const param of [...params].sort((a, b) => a.index - b.index)) {
    if (param.index !== kinds.length) return null;
    if (param.kind === 'root' && param.propertyName === undefined && (param.getType === undefined || param.getType() === Object))
      kinds.push('root');
    else if (param.kind === 'context' && param.propertyName === undefined) kinds.push('context');
    else if (param.kind === 'info') kinds.push('info');
    else return null;
  }
  return kinds;
}

function direct(instance: object, method: Handler, kinds: readonly ParamKind[]): GraphQLFieldResolver<unknown, unknown> {
  if (kinds.length === 2 && kinds[0] === 'root' && kinds[1] === 'context')
    return (root, _args, context) => method.call(instance, root, context);
  if (kinds.length === 1 && kinds[0] === 'root') return (root) => method.call(instance, root);
  return (root, _args, context, info) =>
    method.apply(
      instance,
      kinds.map((kind) => (kind === 'root' ? root : kind === 'context' ? context : info)),
    );
}
