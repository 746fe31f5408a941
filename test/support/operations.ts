/**
 * Resolver-level tests without a gateway: the real schema (src/schema/build.ts),
 * the real Application and Services on the memory event log and memory read
 * models (opened and bootstrapped as a gateway opens them,
 * src/server/start.ts), and Apollo's `executeOperation` with the context a
 * request would get for a given caller and tenant. No HTTP, no port, no
 * authentication: the caller is named by the test.
 *
 * What this leaves out, on purpose, and what the e2e tests (test/support/gateway.ts)
 * still cover: tokens and the authenticator, tenant selection by path, header
 * or host, the rate limiter, idempotency keys, HTTP status codes, and the
 * observability plugin (correlation ids on errors, `extensions.position`).
 * The request limits and error formatting are the gateway's own
 * (src/server/hardening.ts), so `extensions.code` is what a client gets.
 */
import { ApolloServer, type ApolloServerPlugin } from '@apollo/server';
import { ApolloServerPluginCacheControlDisabled } from '@apollo/server/plugin/disabled';
import { DEFAULT_TENANT } from '../../src/aggregates/tenant/tenant.js';
import type { Application } from '../../src/application/application.js';
import { Caller } from '../../src/application/caller.js';
import type { Services } from '../../src/application/services.js';
import { ADMIN_USER_ID, type Principal } from '../../src/auth/principal.js';
import { loadConfig } from '../../src/config/config.js';
import { schema } from '../../src/schema/build.js';
import type { GraphQLContext } from '../../src/schema/context.js';
import { Loaders } from '../../src/schema/loaders.js';
import { hardening } from '../../src/server/hardening.js';
import { openApplication } from '../../src/server/start.js';
import { silentLogger } from '../../src/shared/logger.js';
import { expectData, type GqlResult } from './gateway.js';
import { TEST_AUDIT_SIGNING_KEY } from './signing.js';

/** The bootstrap instance admin, as the bootstrap token authenticates it. */
export const BOOTSTRAP_ADMIN: Principal = { type: 'USER', id: ADMIN_USER_ID, instanceAdmin: true, via: 'bootstrap-token' };

/** A user as an API token of theirs authenticates them (the user must exist: see `createUser`). */
export const userPrincipal = (id: string): Principal => ({ type: 'USER', id, instanceAdmin: false, via: 'api-token' });

export interface OperationOptions {
  /** Who asks. Default: the bootstrap admin. */
  as?: Principal;
  /** The tenant the request selects; null for the instance endpoint. Default: the bootstrap tenant, `main`. */
  tenant?: string | null;
}

/** A GqlResult (so `expectData` and `errorCode` of ./gateway.ts apply), plus the position the mutations reached. */
export interface OperationResult<T> extends GqlResult<T> {
  /** Highest event-store position written by the operation (0: nothing written). */
  position: number;
}

export interface ResolverFixture {
  app: Application;
  services: Services;
  /** Runs one GraphQL operation with the context a request of `options.as` on `options.tenant` gets. */
  run<T = Record<string, unknown>>(
    query: string,
    variables?: Record<string, unknown>,
    options?: OperationOptions,
  ): Promise<OperationResult<T>>;
  /** Creates a user (as the bootstrap admin, on the instance endpoint) and returns the principal that acts as them. */
  createUser(id: string): Promise<Principal>;
  /** Creates tenant `id` (named `name`, `id` by default) with the bootstrap admin as its admin. */
  createTenant(id: string, name?: string): Promise<string>;
  /** Number of events in the log. */
  eventCount(): Promise<number>;
  dispose(): Promise<void>;
}

export async function startResolverFixture(env: Record<string, string> = {}): Promise<ResolverFixture> {
  const config = loadConfig({
    // Nothing is written there: the log, read models, vault and ledger are all in memory.
    TENANTRY_DATA_DIR: '/tmp/tenantry-resolver-tests-unused',
    TENANTRY_EVENT_STORE: 'memory',
    TENANTRY_READ_MODELS: 'memory',
    TENANTRY_MASTER_KEY: Buffer.alloc(32, 7).toString('base64'),
    TENANTRY_AUDIT_SIGNING_KEY: TEST_AUDIT_SIGNING_KEY,
    ...env,
  });
  const { app, services } = await openApplication(config, silentLogger());
  const built = await schema();
  const limits = hardening<GraphQLContext>(config, built);
  // Apollo runs each operation on a shallow copy of the context it is given: the position is read from that copy.
  const positions = new WeakMap<Caller, number>();
  const positionOf: ApolloServerPlugin<GraphQLContext> = {
    requestDidStart: () =>
      Promise.resolve({
        willSendResponse: ({ contextValue }) => {
          positions.set(contextValue.caller, contextValue.position);
          return Promise.resolve();
        },
      }),
  };
  const apollo = new ApolloServer<GraphQLContext>({
    schema: built,
    ...limits.apollo,
    includeStacktraceInErrorResponses: false,
    stopOnTerminationSignals: false,
    plugins: [ApolloServerPluginCacheControlDisabled(), ...limits.apollo.plugins, positionOf],
  });
  await apollo.start();

  const run = async <T>(
    query: string,
    variables: Record<string, unknown> = {},
    options: OperationOptions = {},
  ): Promise<OperationResult<T>> => {
    const caller = new Caller(options.as ?? BOOTSTRAP_ADMIN, app.authorizer);
    const contextValue: GraphQLContext = {
      caller,
      services,
      loaders: new Loaders(services),
      tenantId: options.tenant === undefined ? DEFAULT_TENANT : options.tenant,
      position: 0,
    };
    const response = await apollo.executeOperation<T>({ query, variables }, { contextValue });
    if (response.body.kind !== 'single') throw new Error('an incremental (@defer/@stream) response: not expected here');
    const { data, errors, extensions } = response.body.singleResult;
    return {
      status: response.http.status ?? 200,
      data,
      errors: errors as GqlResult<T>['errors'],
      extensions,
      position: positions.get(caller) ?? 0,
    };
  };

  return {
    app,
    services,
    run,
    async createUser(id) {
      expectData(
        await run(
          `mutation($input: CreateUserInput!) { createUser(input: $input) { id } }`,
          { input: { id, email: `${id}@example.com`, name: id } },
          { tenant: null },
        ),
      );
      return userPrincipal(id);
    },
    async createTenant(id, name = id) {
      expectData(
        await run(
          `mutation($input: CreateTenantInput!) { createTenant(input: $input) { id } }`,
          { input: { id, name, adminUserId: 'admin' } },
          { tenant: null },
        ),
      );
      return id;
    },
    eventCount: () => app.events.headPosition(),
    async dispose() {
      await apollo.stop();
      await app.stop();
    },
  };
}
