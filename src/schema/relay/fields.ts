import { defaultFieldResolver, type GraphQLFieldConfig, type GraphQLFieldResolver } from 'graphql';
import type { GraphQLContext } from '../context.js';

/** A field of the v2 schema as the transform builds it. */
export type Field = GraphQLFieldConfig<unknown, GraphQLContext>;
export type Resolver = GraphQLFieldResolver<unknown, GraphQLContext>;

/** The v1 field's own resolver, or graphql's default reading the property `name`. */
export const readField = (field: Field | undefined, name: string): Resolver => {
  const resolve = field?.resolve as Resolver | undefined;
  return (source, args, ctx, info) =>
    resolve ? resolve(source, args, ctx, info) : defaultFieldResolver(source, args, ctx, { ...info, fieldName: name });
};
