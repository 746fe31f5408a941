import 'reflect-metadata';
import type { GraphQLSchema } from 'graphql';
import { buildSchema } from 'type-graphql';
import {
  ApiTokenResolver,
  BindingResolver,
  EffectivePermissionResolver,
  GroupResolver,
  RoleResolver,
  ServiceAccountResolver,
} from './access.resolver.js';
import { AuditResolver } from './audit.resolver.js';
import { FlowResolver, FlowRevisionResolver } from './flow.resolver.js';
import { NamespaceResolver } from './namespace.resolver.js';
import { ResolvedFlowResolver } from './resolved-flow.resolver.js';
import { ownSubscribeOnly } from './pubsub.js';
import { SecretResolver } from './secret.resolver.js';
import { TenantResolver } from './tenant.resolver.js';
import { UserResolver } from './user.resolver.js';

export const resolvers = [
  TenantResolver,
  NamespaceResolver,
  UserResolver,
  RoleResolver,
  BindingResolver,
  GroupResolver,
  ServiceAccountResolver,
  ApiTokenResolver,
  EffectivePermissionResolver,
  FlowResolver,
  FlowRevisionResolver,
  ResolvedFlowResolver,
  AuditResolver,
  SecretResolver,
] as const;

let cached: Promise<GraphQLSchema> | null = null;

/** Built once per process: type-graphql's metadata is global, and the schema is immutable. */
export function schema(): Promise<GraphQLSchema> {
  cached ??= buildSchema({
    resolvers: [...resolvers],
    validate: false,
    emitSchemaFile: false,
    pubSub: ownSubscribeOnly,
  });
  return cached;
}
