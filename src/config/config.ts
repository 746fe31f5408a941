import { readFileSync, realpathSync } from 'node:fs';
import { hostname } from 'node:os';
import path from 'node:path';
import { defaultWorkerThreads } from '../shared/worker-pool.js';
import { corsOrigins } from './cors-origins.js';
import { bool, ConfigError, integer, oneOf, optional, type Env } from './env.js';
import { tracing, type TracingConfig } from './tracing.js';

export { ConfigError } from './env.js';
export type { TracingConfig } from './tracing.js';

export interface Config {
  port: number;
  host: string;
  /**
   * The gateway's own host names (TENANTRY_PUBLIC_HOSTS, plus `localhost`,
   * the listen address and the machine's name): never a tenant's domain.
   */
  gatewayHosts: string[];
  dataDir: string;
  eventStore: 'sqlite' | 'kurrentdb' | 'memory';
  kurrentDbUrl: string | null;
  sqliteSynchronous: 'FULL' | 'NORMAL';
  /**
   * How long an append waits for another process's write lock on the SQLite
   * log. better-sqlite3 waits synchronously, so the whole process waits: keep it short.
   */
  sqliteBusyTimeoutMs: number;
  readModels: 'memory' | 'mongodb' | 'sqlite';
  /** Heap MiB the SQLite read models keep for parsed documents reads share (0: none). */
  readModelCacheMb: number;
  mongoUri: string | null;
  mongoDb: string;
  /**
   * TENANTRY_MONGODB_TRANSACTIONS: multi-document transactions for projection
   * batches where the server offers them (`auto`), required (`on`: refuse to
   * start without them) or never (`off`).
   */
  mongoTransactions: 'auto' | 'on' | 'off';
  /**
   * TENANTRY_PROJECTOR: `embedded` (a gateway applies projections itself,
   * under the lease with MongoDB read models) or `off` (it only follows the
   * shared checkpoints; a `tenantry project` process applies).
   */
  projector: 'embedded' | 'off';
  /** Where secret values are kept (TENANTRY_VAULT); defaults to mongodb when the read models are in MongoDB, else embedded. */
  vault: 'embedded' | 'mongodb';
  adminToken: string | null;
  masterKey: Buffer | null;
  selfServiceTenants: boolean;
  /** How long a mutation waits for projections before answering (read-your-writes). */
  readYourWritesTimeoutMs: number;
  /** Projection lease time-to-live with shared (MongoDB) read models: a dead holder is replaced within it. */
  projectionLeaseMs: number;
  /** The longest the MongoDB adapter waits for one operation before counting it as an outage. */
  mongoOperationTimeoutMs: number;
  /** MongoDB data operations on the wire at once (admission control); the rest wait in the gateway's queues. */
  mongoMaxInFlight: number;
  /** Request reads that may wait for MongoDB; one more is answered SERVICE_UNAVAILABLE with retryAfterSeconds. */
  mongoMaxQueuedReads: number;
  /** TENANTRY_VAULT_SWEEP_INTERVAL_MS: how often stored secret values no event refers to are removed (0: only at start). */
  vaultSweepIntervalMs: number;
  /** A projection behind the log and not moving for this long is reported stalled (watchdog). */
  projectionStallMs: number;
  /** TENANTRY_CHECKPOINT_DEFER_MS: how long a projection's checkpoint move with nothing written waits for a write to ride on. */
  checkpointDeferMs: number;
  /**
   * TENANTRY_READY_MAX_LAG_EVENTS: /readyz answers 200 while every projection
   * is within this many events of the log's head (and none failing or
   * stalled). Under steady writes a projection is always a few events
   * behind; requiring zero made a loaded gateway flap out of its load balancer.
   */
  readyMaxLagEvents: number;
  /** What a projection does with an event it cannot apply: stop there (and report it) or park it. */
  projectionOnPoison: 'stop' | 'park';
  /**
   * TENANTRY_VERIFICATION_THREAD: `auto` runs an audit verification with
   * 5,000 or more events to check on a thread of its own with its own
   * connections to the stores (not possible with in-memory stores, which
   * then verify on the event loop in time slices), smaller ones on the event
   * loop; `always` every verification on a thread; `off` none.
   */
  verificationThread: 'auto' | 'always' | 'off';
  logLevel: string;
  production: boolean;
  /**
   * TENANTRY_WORKER_THREADS: threads that parse large flow sources off the
   * event loop (default: one less than the cores, 1 to 4).
   */
  workerThreads: number;
  /** Abuse limits of the GraphQL endpoints (docs/api.md, "Limits and hardening"). */
  limits: RequestLimits;
  /** TENANTRY_AUDIT_SIGNING_KEY: the Ed25519 key (PEM) that signs the ledger's checkpoints. */
  auditSigningKey: string | null;
  /** TENANTRY_AUDIT_SIGNING_KEY_FILE: a file holding that key instead. */
  auditSigningKeyFile: string | null;
  /** TENANTRY_AUDIT_TRUSTED_KEYS_FILE: more public keys whose checkpoints verification accepts (after a rotation). */
  auditTrustedKeysFile: string | null;
  /** TENANTRY_AUDIT_CHECKPOINT_INTERVAL_MS: how often tenants with new events get a signed checkpoint; 0: only on demand. */
  auditCheckpointIntervalMs: number;
  /**
   * TENANTRY_AUDIT_WITNESS_FILE: an append-only JSON-lines file, outside the
   * data dir, that receives a copy of every signed checkpoint; full
   * verifications check the ledger against it. Absolute; null when unset.
   */
  auditWitnessFile: string | null;
  /**
   * TENANTRY_CORS_ORIGINS: the exact origins (`https://app.example.com`)
   * whose pages may call the GraphQL endpoints and the audit export from a
   * browser. Empty (the default): no CORS headers at all, same-origin only.
   */
  corsOrigins: string[];
  /**
   * OpenTelemetry trace export (the standard OTEL_* variables,
   * docs/api.md, "Tracing"): null when no OTLP endpoint is set, or
   * when OTEL_SDK_DISABLED or OTEL_TRACES_EXPORTER=none turns it off.
   */
  tracing: TracingConfig | null;
  /** TENANTRY_SESSION_RECHECK_MS: how often live sessions (subscriptions, export downloads) are authenticated and authorized again. */
  sessionRecheckMs: number;
  jwt: {
    secret: string | null;
    jwksUrl: string | null;
    issuer: string | null;
    audience: string | null;
    userClaim: string;
    /** TENANTRY_JWT_MAX_LIFETIME_SECONDS: the longest a JWT may live (exp minus iat, or exp minus now); default 24 h. */
    maxLifetimeSeconds: number;
    /** TENANTRY_JWT_CLOCK_SKEW_SECONDS: how far in the future iat and nbf may be (the IdP's clock ahead of ours); default 60 s. */
    clockSkewSeconds: number;
  };
}

function masterKey(env: Env): Buffer | null {
  const value = optional(env, 'TENANTRY_MASTER_KEY');
  if (value === null) return null;
  const key = Buffer.from(value, 'base64');
  if (key.length !== 32 || key.toString('base64').replace(/=+$/, '') !== value.replace(/=+$/, '')) {
    throw new ConfigError('TENANTRY_MASTER_KEY', 'must be 32 bytes encoded in base64 (e.g. `openssl rand -base64 32`)');
  }
  return key;
}

export interface RequestLimits {
  maxDepth: number;
  maxAliases: number;
  maxDirectives: number;
  maxTokens: number;
  maxCost: number;
  /** Requests per minute of one principal (anonymous callers: of one IP address). */
  ratePerMinute: number;
  /** Requests per minute into one tenant, all its principals together. */
  tenantRatePerMinute: number;
  /**
   * Slow clients (Node's server timeouts): the request headers must arrive
   * within `headersTimeoutMs` and the whole request (headers and body) within
   * `requestTimeoutMs`, or the connection is closed (HTTP 408 when possible).
   */
  headersTimeoutMs: number;
  requestTimeoutMs: number;
  /** Failed authentications (no token, or a refused one) per minute of one client address; past it, RATE_LIMITED. */
  authFailuresPerMinute: number;
  /** Longest run of a query operation; 0 = no limit. Mutations are never cut. */
  executionTimeoutMs: number;
  /** Largest accepted request body, in bytes. */
  bodyLimitBytes: number;
  allowBatchedRequests: boolean;
  /** Largest response body of a GraphQL operation, in bytes (past it: QUERY_TOO_COMPLEX, reason MAX_RESPONSE_SIZE). */
  maxResponseBytes: number;
  /** Expensive operations (exports, verifications, deep time travel) one tenant may run at once. */
  heavyPerTenant: number;
  /** Expensive operations the process runs at once, all tenants together. */
  heavyTotal: number;
}

const BYTE_UNITS: Record<string, number> = { '': 1, b: 1, kb: 1024, mb: 1024 * 1024 };

function byteSize(env: Env, name: string, fallback: number, max: number): number {
  const value = env[name]?.trim().toLowerCase();
  if (value === undefined || value === '') return fallback;
  const match = /^(\d+)\s*(b|kb|mb)?$/.exec(value);
  const bytes = match ? Number(match[1]) * (BYTE_UNITS[match[2] ?? ''] ?? 1) : NaN;
  if (!(bytes >= 1024 && bytes <= max)) {
    throw new ConfigError(name, `must be a size from 1kb to ${max / 1024 / 1024}mb (e.g. 512kb, 2mb), got ${JSON.stringify(value)}`);
  }
  return bytes;
}

/**
 * graphql-armor's model multiplies a connection's cost by its page size, and
 * our connections serve pages of up to 500: a full page of audit entries with
 * every field costs 43,000, far past armor's 5,000 (docs/api.md, "Limits and hardening").
 */
const DEFAULT_MAX_COST = 50_000;

function serverTimeouts(env: Env): Pick<RequestLimits, 'headersTimeoutMs' | 'requestTimeoutMs'> {
  const headersTimeoutMs = integer(env, 'TENANTRY_HEADERS_TIMEOUT_MS', 10_000, 100, 600_000);
  const requestTimeoutMs = integer(env, 'TENANTRY_REQUEST_TIMEOUT_MS', 30_000, 100, 3_600_000);
  if (requestTimeoutMs < headersTimeoutMs) {
    throw new ConfigError(
      'TENANTRY_REQUEST_TIMEOUT_MS',
      'must be at least TENANTRY_HEADERS_TIMEOUT_MS (the headers are part of the request)',
    );
  }
  return { headersTimeoutMs, requestTimeoutMs };
}

/** Defaults are graphql-armor's, except the cost. */
function requestLimits(env: Env): RequestLimits {
  return {
    maxDepth: integer(env, 'TENANTRY_MAX_DEPTH', 6, 1, 100),
    maxAliases: integer(env, 'TENANTRY_MAX_ALIASES', 15, 0, 1000),
    maxDirectives: integer(env, 'TENANTRY_MAX_DIRECTIVES', 50, 0, 1000),
    maxTokens: integer(env, 'TENANTRY_MAX_TOKENS', 1000, 10, 100_000),
    maxCost: integer(env, 'TENANTRY_MAX_COST', DEFAULT_MAX_COST, 1, 10_000_000),
    ratePerMinute: integer(env, 'TENANTRY_RATE_LIMIT_PER_MINUTE', 600, 1, 1_000_000),
    tenantRatePerMinute: integer(env, 'TENANTRY_TENANT_RATE_LIMIT_PER_MINUTE', 3000, 1, 10_000_000),
    authFailuresPerMinute: integer(env, 'TENANTRY_AUTH_FAILURE_LIMIT_PER_MINUTE', 60, 1, 1_000_000),
    ...serverTimeouts(env),
    executionTimeoutMs: integer(env, 'TENANTRY_EXECUTION_TIMEOUT_MS', 10_000, 0, 600_000),
    bodyLimitBytes: byteSize(env, 'TENANTRY_BODY_LIMIT', 1024 * 1024, 64 * 1024 * 1024),
    allowBatchedRequests: bool(env, 'TENANTRY_ALLOW_BATCHED_REQUESTS', false),
    maxResponseBytes: byteSize(env, 'TENANTRY_MAX_RESPONSE_SIZE', 16 * 1024 * 1024, 1024 * 1024 * 1024),
    heavyPerTenant: integer(env, 'TENANTRY_TENANT_HEAVY_CONCURRENCY', 2, 1, 1000),
    heavyTotal: integer(env, 'TENANTRY_HEAVY_CONCURRENCY', 8, 1, 10_000),
  };
}

function gatewayHosts(env: Env): string[] {
  const listed = (optional(env, 'TENANTRY_PUBLIC_HOSTS') ?? '').split(',');
  const own = ['localhost', optional(env, 'TENANTRY_HOST') ?? '127.0.0.1', hostname(), ...listed];
  return [...new Set(own.map((h) => h.trim().toLowerCase().replace(/:\d+$/, '')).filter((h) => h !== ''))];
}

/** Reads and checks the whole configuration; throws ConfigError naming the first bad variable. */
/**
 * Secrets may come from files (Docker and Kubernetes secrets): `NAME_FILE`
 * names a file whose content, without its trailing newline, is `NAME`.
 * Setting both is refused, as is a file that cannot be read.
 * (TENANTRY_AUDIT_SIGNING_KEY_FILE has its own meaning and predates this.)
 */
export const SECRET_FILE_VARIABLES = [
  'TENANTRY_ADMIN_TOKEN',
  'TENANTRY_MASTER_KEY',
  'TENANTRY_JWT_SECRET',
  'TENANTRY_MONGODB_URI',
  'TENANTRY_KURRENTDB_URL',
] as const;

function withSecretFiles(env: Env): Env {
  const out: Env = { ...env };
  for (const name of SECRET_FILE_VARIABLES) {
    const file = env[`${name}_FILE`];
    if (file === undefined || file === '') continue;
    if (env[name] !== undefined && env[name] !== '') throw new ConfigError(`${name}_FILE`, `and ${name} are both set: choose one`);
    try {
      out[name] = readFileSync(file, 'utf8').replace(/\r?\n$/, '');
    } catch (error) {
      throw new ConfigError(`${name}_FILE`, `cannot be read: ${(error as Error).message}`);
    }
  }
  return out;
}

/** `p` with its longest existing ancestor's symbolic links resolved (the rest as written). */
function realPath(p: string): string {
  let existing = p;
  for (;;) {
    try {
      return path.join(realpathSync(existing), path.relative(existing, p));
    } catch {
      const parent = path.dirname(existing);
      if (parent === existing) return p;
      existing = parent;
    }
  }
}

const isWithin = (dir: string, p: string): boolean => {
  const relative = path.relative(dir, p);
  return relative === '' || (relative !== '..' && !relative.startsWith(`..${path.sep}`) && !path.isAbsolute(relative));
};

/** The witness must be out of reach of whoever can rewrite the data dir: refused inside it. */
function witnessFile(env: Env, dataDir: string): string | null {
  const file = optional(env, 'TENANTRY_AUDIT_WITNESS_FILE');
  if (file === null) return null;
  const resolved = path.resolve(file);
  if (isWithin(dataDir, resolved) || isWithin(realPath(dataDir), realPath(resolved))) {
    throw new ConfigError(
      'TENANTRY_AUDIT_WITNESS_FILE',
      `is inside the data dir (${dataDir}): whoever can rewrite the data dir could rewrite the witness too; put it on another disk or host`,
    );
  }
  return resolved;
}

export function loadConfig(fromEnv: Env = process.env): Config {
  const env = withSecretFiles(fromEnv);
  const eventStore = oneOf(env, 'TENANTRY_EVENT_STORE', ['sqlite', 'kurrentdb', 'memory'] as const, 'sqlite');
  const kurrentDbUrl = optional(env, 'TENANTRY_KURRENTDB_URL');
  if (eventStore === 'kurrentdb' && kurrentDbUrl === null) {
    throw new ConfigError(
      'TENANTRY_KURRENTDB_URL',
      'is required when TENANTRY_EVENT_STORE=kurrentdb (e.g. kurrentdb://localhost:2113?tls=false)',
    );
  }
  // Durable read models beside a durable log by default; a log in memory (tests) keeps them in memory too.
  const readModels = oneOf(
    env,
    'TENANTRY_READ_MODELS',
    ['sqlite', 'memory', 'mongodb'] as const,
    eventStore === 'memory' ? 'memory' : 'sqlite',
  );
  if (readModels === 'sqlite' && eventStore === 'memory') {
    throw new ConfigError(
      'TENANTRY_READ_MODELS',
      'sqlite keeps read models on disk, but TENANTRY_EVENT_STORE=memory forgets the log at every stop: use memory read models with it',
    );
  }
  // The audit ledger lives with the read models unless the log is the embedded one (src/ledger/open.ts): in
  // memory, it and every signed checkpoint would be rebuilt at each start from a log that may have been edited.
  if (readModels === 'memory' && eventStore === 'kurrentdb') {
    throw new ConfigError(
      'TENANTRY_READ_MODELS',
      'memory with TENANTRY_EVENT_STORE=kurrentdb would keep the audit ledger and its signed checkpoints in memory, rebuilt at every start from a log that may have been edited since: use sqlite or mongodb read models with it',
    );
  }
  const mongoUri = optional(env, 'TENANTRY_MONGODB_URI');
  if (readModels === 'mongodb' && mongoUri === null) {
    throw new ConfigError(
      'TENANTRY_MONGODB_URI',
      'is required when TENANTRY_READ_MODELS=mongodb (e.g. mongodb://localhost:27017/?replicaSet=rs0)',
    );
  }
  if (mongoUri !== null && !/^mongodb(\+srv)?:\/\//.test(mongoUri)) {
    throw new ConfigError('TENANTRY_MONGODB_URI', 'must start with mongodb:// or mongodb+srv://');
  }
  const mongoDb = optional(env, 'TENANTRY_MONGODB_DB') ?? 'tenantry';
  if (!/^[A-Za-z0-9_-]{1,63}$/.test(mongoDb))
    throw new ConfigError('TENANTRY_MONGODB_DB', 'must be a database name of letters, digits, _ and -');
  const mongoTransactions = oneOf(env, 'TENANTRY_MONGODB_TRANSACTIONS', ['auto', 'on', 'off'] as const, 'auto');
  if (mongoTransactions === 'on' && readModels !== 'mongodb') {
    throw new ConfigError(
      'TENANTRY_MONGODB_TRANSACTIONS',
      'on needs TENANTRY_READ_MODELS=mongodb (the in-memory read models have no transactions)',
    );
  }
  const projector = oneOf(env, 'TENANTRY_PROJECTOR', ['embedded', 'off'] as const, 'embedded');
  if (projector === 'off' && readModels === 'memory') {
    throw new ConfigError(
      'TENANTRY_PROJECTOR',
      'off needs TENANTRY_READ_MODELS=sqlite or mongodb: in-memory read models live inside this gateway, so nobody else could project them',
    );
  }
  if (projector === 'off' && eventStore === 'memory') {
    throw new ConfigError(
      'TENANTRY_PROJECTOR',
      'off needs an event log other processes can read (TENANTRY_EVENT_STORE=sqlite or kurrentdb), not memory',
    );
  }
  const vault = oneOf(env, 'TENANTRY_VAULT', ['embedded', 'mongodb'] as const, readModels === 'mongodb' ? 'mongodb' : 'embedded');
  if (vault === 'mongodb' && mongoUri === null) {
    throw new ConfigError('TENANTRY_VAULT', 'mongodb needs TENANTRY_MONGODB_URI (or use TENANTRY_VAULT=embedded)');
  }
  const adminToken = optional(env, 'TENANTRY_ADMIN_TOKEN');
  if (adminToken !== null && adminToken.length < 16) {
    throw new ConfigError('TENANTRY_ADMIN_TOKEN', 'must be at least 16 characters');
  }
  const jwtSecret = optional(env, 'TENANTRY_JWT_SECRET');
  if (jwtSecret !== null && jwtSecret.length < 32) throw new ConfigError('TENANTRY_JWT_SECRET', 'must be at least 32 characters');
  const jwksUrl = optional(env, 'TENANTRY_JWT_JWKS_URL');
  if (jwksUrl !== null && !/^https?:\/\//.test(jwksUrl)) throw new ConfigError('TENANTRY_JWT_JWKS_URL', 'must be an http(s) URL');

  const dataDir = path.resolve(optional(env, 'TENANTRY_DATA_DIR') ?? './data');
  const auditWitnessFile = witnessFile(env, dataDir);

  return {
    port: integer(env, 'TENANTRY_PORT', 4000, 0, 65535),
    host: optional(env, 'TENANTRY_HOST') ?? '127.0.0.1',
    gatewayHosts: gatewayHosts(env),
    dataDir,
    eventStore,
    kurrentDbUrl,
    sqliteSynchronous: oneOf(env, 'TENANTRY_SQLITE_SYNCHRONOUS', ['FULL', 'NORMAL'] as const, 'FULL'),
    sqliteBusyTimeoutMs: integer(env, 'TENANTRY_SQLITE_BUSY_TIMEOUT_MS', 2000, 0, 60_000),
    readModels,
    readModelCacheMb: integer(env, 'TENANTRY_READ_MODEL_CACHE_MB', 64, 0, 65_536),
    mongoUri,
    mongoDb,
    mongoTransactions,
    projector,
    vault,
    adminToken,
    masterKey: masterKey(env),
    selfServiceTenants: bool(env, 'TENANTRY_SELF_SERVICE_TENANTS', false),
    readYourWritesTimeoutMs: integer(env, 'TENANTRY_READ_YOUR_WRITES_TIMEOUT_MS', 5000, 0, 120_000),
    projectionLeaseMs: integer(env, 'TENANTRY_PROJECTION_LEASE_MS', 10_000, 500, 600_000),
    mongoOperationTimeoutMs: integer(env, 'TENANTRY_MONGODB_OPERATION_TIMEOUT_MS', 30_000, 100, 3_600_000),
    mongoMaxInFlight: integer(env, 'TENANTRY_MONGODB_MAX_IN_FLIGHT', 16, 1, 10_000),
    mongoMaxQueuedReads: integer(env, 'TENANTRY_MONGODB_MAX_QUEUED_READS', 256, 1, 1_000_000),
    vaultSweepIntervalMs: integer(env, 'TENANTRY_VAULT_SWEEP_INTERVAL_MS', 3_600_000, 0, 7 * 24 * 3_600_000),
    projectionStallMs: integer(env, 'TENANTRY_PROJECTION_STALL_MS', 30_000, 100, 3_600_000),
    checkpointDeferMs: integer(env, 'TENANTRY_CHECKPOINT_DEFER_MS', 250, 0, 60_000),
    readyMaxLagEvents: integer(env, 'TENANTRY_READY_MAX_LAG_EVENTS', 1000, 0, 1_000_000_000),
    projectionOnPoison: oneOf(env, 'TENANTRY_PROJECTION_ON_POISON', ['stop', 'park'] as const, 'stop'),
    verificationThread: oneOf(env, 'TENANTRY_VERIFICATION_THREAD', ['auto', 'always', 'off'] as const, 'auto'),
    logLevel: oneOf(env, 'TENANTRY_LOG_LEVEL', ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const, 'info'),
    production: env['NODE_ENV'] === 'production',
    workerThreads: integer(env, 'TENANTRY_WORKER_THREADS', defaultWorkerThreads(), 1, 64),
    limits: requestLimits(env),
    auditSigningKey: optional(env, 'TENANTRY_AUDIT_SIGNING_KEY')?.replace(/\\n/g, '\n') ?? null,
    auditSigningKeyFile: optional(env, 'TENANTRY_AUDIT_SIGNING_KEY_FILE'),
    auditTrustedKeysFile: optional(env, 'TENANTRY_AUDIT_TRUSTED_KEYS_FILE'),
    auditCheckpointIntervalMs: integer(env, 'TENANTRY_AUDIT_CHECKPOINT_INTERVAL_MS', 60_000, 0, 86_400_000),
    auditWitnessFile,
    sessionRecheckMs: integer(env, 'TENANTRY_SESSION_RECHECK_MS', 2000, 100, 60_000),
    corsOrigins: corsOrigins(env),
    tracing: tracing(env),
    jwt: {
      secret: jwtSecret,
      jwksUrl,
      issuer: optional(env, 'TENANTRY_JWT_ISSUER'),
      audience: optional(env, 'TENANTRY_JWT_AUDIENCE'),
      userClaim: optional(env, 'TENANTRY_JWT_USER_CLAIM') ?? 'sub',
      maxLifetimeSeconds: integer(env, 'TENANTRY_JWT_MAX_LIFETIME_SECONDS', 86_400, 60, 30 * 86_400),
      clockSkewSeconds: integer(env, 'TENANTRY_JWT_CLOCK_SKEW_SECONDS', 60, 0, 300),
    },
  };
}
