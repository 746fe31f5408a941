/**
 * A real gateway for tests: real stores (memory or SQLite event log; memory or
 * MongoDB read models), real HTTP on a free port, real GraphQL. Tests talk to
 * it with `gql()` exactly as a frontend would.
 *
 * Read models follow TENANTRY_TEST_READ_MODELS: by default `sqlite`, the
 * embedded default a user gets from `npm start` (the durable store in each
 * gateway's data dir, except beside a log in memory, which keeps memory read
 * models as the configuration demands); `mongodb` runs every suite against
 * the MongoDB-wire server of the test run; `memory` keeps them in the
 * process.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { MongoClient } from 'mongodb';
import { loadConfig, type Config } from '../../src/config/config.js';
import { silentLogger, type Logger } from '../../src/shared/logger.js';
import { startGateway, type OpenOptions, type Running } from '../../src/server/start.js';
import { testDatabaseName, testMongoUri } from './mongo.js';
import { TEST_AUDIT_SIGNING_KEY } from './signing.js';

export const ADMIN_TOKEN = 'test-admin-token-0123456789';

export interface GqlResult<T = Record<string, unknown>> {
  status: number;
  data: T | null | undefined;
  errors: { message: string; path?: string[]; extensions: Record<string, unknown> & { code: string } }[] | undefined;
  extensions: Record<string, unknown> | undefined;
}

export interface GqlOptions {
  tenant?: string | null;
  /** Bearer token; null sends none. Defaults to the bootstrap admin token. */
  token?: string | null;
  headers?: Record<string, string>;
  /** The API version's endpoint (docs/api-v2.md). Default: v1. */
  api?: 'v1' | 'v2';
}

export interface TestGateway extends Running {
  config: Config;
  url: string;
  dataDir: string;
  gql<T = Record<string, unknown>>(query: string, variables?: Record<string, unknown>, options?: GqlOptions): Promise<GqlResult<T>>;
  /** Number of events in the log. */
  eventCount(): Promise<number>;
  /** Stops the gateway and deletes its data dir and database. */
  dispose(): Promise<void>;
}

export interface TestGatewayOptions {
  eventStore?: 'memory' | 'sqlite';
  readModels?: 'memory' | 'mongodb' | 'sqlite';
  dataDir?: string;
  env?: Record<string, string>;
  logger?: Logger;
  /** Wraps the document store (e.g. a counting proxy for N+1 tests). */
  wrapDocuments?: OpenOptions['wrapDocuments'];
  /** Wraps the event store (e.g. a counting proxy for work-per-command tests). */
  wrapEvents?: OpenOptions['wrapEvents'];
}

export function testReadModels(): 'memory' | 'mongodb' | 'sqlite' {
  const chosen = process.env['TENANTRY_TEST_READ_MODELS'];
  return chosen === 'mongodb' || chosen === 'memory' ? chosen : 'sqlite';
}

export async function startTestGateway(options: TestGatewayOptions = {}): Promise<TestGateway> {
  const dataDir = options.dataDir ?? mkdtempSync(path.join(tmpdir(), 'tenantry-test-'));
  const eventStore = options.eventStore ?? 'sqlite';
  const chosen = options.readModels ?? testReadModels();
  const readModels = chosen === 'sqlite' && eventStore === 'memory' ? 'memory' : chosen;
  const env: Record<string, string> = {
    TENANTRY_DATA_DIR: dataDir,
    TENANTRY_PORT: '0',
    TENANTRY_EVENT_STORE: eventStore,
    TENANTRY_READ_MODELS: readModels,
    TENANTRY_ADMIN_TOKEN: ADMIN_TOKEN,
    TENANTRY_MASTER_KEY: Buffer.alloc(32, 7).toString('base64'),
    TENANTRY_AUDIT_SIGNING_KEY: TEST_AUDIT_SIGNING_KEY,
    TENANTRY_SQLITE_SYNCHRONOUS: 'NORMAL',
    ...options.env,
  };
  let database: string | null = null;
  if (readModels === 'mongodb') {
    const uri = env['TENANTRY_MONGODB_URI'] ?? testMongoUri();
    if (!uri) throw new Error('TENANTRY_TEST_READ_MODELS=mongodb but no MongoDB-wire server is available');
    database = env['TENANTRY_MONGODB_DB'] ?? testDatabaseName('gw');
    env['TENANTRY_MONGODB_URI'] = uri;
    env['TENANTRY_MONGODB_DB'] = database;
  }
  const config = loadConfig(env);
  const running = await startGateway(config, options.logger ?? silentLogger(), {
    wrapDocuments: options.wrapDocuments,
    wrapEvents: options.wrapEvents,
  });
  const url = running.gateway.url();
  // As a load balancer would: send traffic once /readyz would say ready (projections caught up).
  for (const deadline = Date.now() + 60_000; !(await running.app.projections.caughtUp());) {
    if (Date.now() > deadline) throw new Error('the test gateway never caught up');
    await new Promise((resolve) => setTimeout(resolve, 25));
  }

  const gql = async <T>(query: string, variables: Record<string, unknown> = {}, opts: GqlOptions = {}): Promise<GqlResult<T>> => {
    const token = opts.token === undefined ? ADMIN_TOKEN : opts.token;
    const api = opts.api ?? 'v1';
    const endpoint = opts.tenant ? `${url}/api/${api}/${opts.tenant}/graphql` : `${url}/api/${api}/graphql`;
    const response = await fetch(endpoint, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        ...(token ? { authorization: `Bearer ${token}` } : {}),
        ...opts.headers,
      },
      body: JSON.stringify({ query, variables }),
    });
    const body = (await response.json()) as Omit<GqlResult<T>, 'status'>;
    return { status: response.status, data: body.data, errors: body.errors, extensions: body.extensions };
  };

  return {
    ...running,
    config,
    url,
    dataDir,
    gql,
    eventCount: () => running.app.events.headPosition(),
    async dispose() {
      await running.stop();
      if (database) {
        const client = new MongoClient(env['TENANTRY_MONGODB_URI'] ?? '');
        await client
          .db(database)
          .dropDatabase()
          .catch(() => undefined);
        await client.close();
      }
      if (!options.dataDir) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Fails the test with the GraphQL errors when there are any. */
export function expectData<T>(result: GqlResult<T>): T {
  if (result.errors?.length || !result.data) {
    throw new Error(`GraphQL errors: ${JSON.stringify(result.errors ?? result)}`);
  }
  return result.data;
}

/** The first error's code. */
export const errorCode = (result: GqlResult<unknown>): string | undefined => result.errors?.[0]?.extensions.code;
