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
import { ChangeResolver } from './change.resolver.js';
import { FlowResolver } from './flow.resolver.js';
import { FlowRevisionResolver } from './flow-revision.resolver.js';
import { NamespaceResolver } from './namespace.resolver.js';
import { ResolvedFlowResolver } from './resolved-flow.resolver.js';
import { ownSubscribeOnly } from './pubsub.js';
import { SecretResolver } from './secret.resolver.js';
import { TenantResolver } from './tenant.resolver.js';
import { UserResolver } from './user.resolver.js';
import { buildV2Schema } from './relay/v2.js';

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
  ChangeResolver,
  SecretResolver,
] as const;

/** type-graphql takes no description for the root types: they are set on the built schema. */
const ROOT_DESCRIPTIONS: Record<string, string> = {
  Query:
    'Reads. On /api/v1/graphql the instance-level ones (tenants, users, me); on /api/v1/{tenant}/graphql (or with X-Tenant-Id, or a host mapped to a tenant) those of that tenant. What a caller may not see is left out of lists, or refused with FORBIDDEN.',
  Mutation:
    'Changes. Each one is a command on the event log and answers after the read models show it (read-your-writes). Every field is nullable: in a request with several mutations, a failed one answers null with its error (`path` names its field or alias) while the others keep their data.',
  Subscription: 'Live feeds over WebSocket (graphql-ws) at the same paths as the GraphQL endpoints.',
};

function describeRootTypes(built: GraphQLSchema): GraphQLSchema {
  for (const type of [built.getQueryType(), built.getMutationType(), built.getSubscriptionType()]) {
    if (type) type.description = ROOT_DESCRIPTIONS[type.name] ?? null;
  }
  return built;
}

let cached: Promise<GraphQLSchema> | null = null;

/** Built once per process: type-graphql's metadata is global, and the schema is immutable. */
export function schema(): Promise<GraphQLSchema> {
  cached ??= buildSchema({
    resolvers: [...resolvers],
    validate: false,
    emitSchemaFile: false,
    pubSub: ownSubscribeOnly,
  }).then(describeRootTypes);
  return cached;
}

let cachedV2: Promise<GraphQLSchema> | null = null;

/** The v2 schema (Relay ids and connections), derived from v1's: docs/api-v2.md. */
export function schemaV2(): Promise<GraphQLSchema> {
  cachedV2 ??= schema().then(buildV2Schema);
  return cachedV2;
}
