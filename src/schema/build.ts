import 'reflect-metadata';
import type { GraphQLSchema } from 'graphql';
import { buildSchema } from 'type-graphql';
import { FlowResolver, FlowRevisionResolver } from './flow.resolver.js';
import { NamespaceResolver } from './namespace.resolver.js';
import { TenantResolver } from './tenant.resolver.js';
import { UserResolver } from './user.resolver.js';

export const resolvers = [TenantResolver, NamespaceResolver, UserResolver, FlowResolver, FlowRevisionResolver] as const;

let cached: Promise<GraphQLSchema> | null = null;

/** Built once per process: type-graphql's metadata is global, and the schema is immutable. */
export function schema(): Promise<GraphQLSchema> {
  cached ??= buildSchema({
    resolvers: [...resolvers],
    validate: false,
    emitSchemaFile: false,
  });
  return cached;
}
