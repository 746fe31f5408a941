import 'reflect-metadata';
import type { GraphQLSchema } from 'graphql';
import { buildSchema } from 'type-graphql';
// Kept in this order: type-graphql lists queries, mutations and subscriptions in the
// order their modules load, so this order is the printed schema's.
import { RoleResolver } from './role.resolver.js';
import { BindingResolver } from './binding.resolver.js';
import { GroupResolver } from './group.resolver.js';
import { ServiceAccountResolver } from './service-account.resolver.js';
import { ApiTokenResolver } from './api-token.resolver.js';
import { EffectivePermissionResolver } from './effective-permission.resolver.js';
import { AuditResolver } from './audit.resolver.js';
import { FlowResolver } from './flow.resolver.js';
import { FlowRevisionResolver } from './flow-revision.resolver.js';
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
