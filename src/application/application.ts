import { privateDir } from '../shared/private-files.js';
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import path from 'node:path';
import type { Command, CommandMetadata, Decider, DomainEvent } from '../aggregates/decider.js';
import { Authorizer, type RoleLookup } from '../auth/authorizer.js';
import { ReadModelRoleLookup } from '../auth/role-lookup.js';
import { accessDataAsOf } from './access-history.js';
import { HeavyWork } from './heavy-work.js';
import { threadStoresOf, VerificationThreads } from './verification-thread.js';
import { CommandHandler, type HandleOptions, type HandleResult } from '../commands/handler.js';
import { DocumentSnapshotStore } from '../commands/snapshots.js';
import { ConfigError, type Config } from '../config/config.js';
import type { EventStore } from '../eventstore/port.js';
import { upcasters as defaultUpcasters, type UpcasterRegistry } from '../events/upcasting.js';
import { DocumentLedgerStore } from '../ledger/document-store.js';
import { openLedgerStore } from '../ledger/open.js';
import type { LedgerStore } from '../ledger/store.js';
import { SigningKey, TrustedKeys } from '../ledger/checkpoint.js';
import { LEDGER_PROJECTION, refuseLedgerBehind } from '../ledger/start-guard.js';
import { resolveAuditSigning, type AuditSigning } from '../ledger/signing-key.js';
import { allProjections } from '../projections/index.js';
import { ledgerProjection } from '../projections/ledger/ledger.projection.js';
import { Projections } from '../projections/runtime/coordinator.js';
import type { Projection } from '../projections/runtime/projection.js';
import type { DocumentStore } from '../readmodels/port.js';
import { ReadModels } from '../projections/read-models.js';
import { ephemeralMasterKey } from '../secrets/master-key.js';
import { openVault } from '../secrets/open.js';
import { SqliteVault } from '../secrets/sqlite-vault.js';
import type { SecretVault } from '../secrets/vault.js';
import type { Logger } from '../shared/logger.js';

export interface ApplicationParts {
  config: Config;
  logger: Logger;
  events: EventStore;
  documents: DocumentStore;
  projections?: Projection[];
  upcasters?: UpcasterRegistry;
  roles?: RoleLookup;
  /** Default: an in-memory vault that lives as long as the Application (tests that never touch secrets). */
  vault?: SecretVault;
  /** Default: the ledger in the read models' store. */
  ledger?: LedgerStore;
  /** The key that signs the ledger's checkpoints, and the keys verification trusts. Default: a throw-away key. */
  signing?: AuditSigning;
  /**
   * Whether this process applies projections (`embedded`) or only follows the
   * shared checkpoints (`off`). Default: `config.projector`. The `tenantry
   * project` process says `embedded` whatever the environment says.
   */
  projector?: 'embedded' | 'off';
}

/** Opens the stores the configuration names. */
export async function openStores(
  config: Config,
): Promise<{ events: EventStore; documents: DocumentStore; vault: SecretVault; ledger: LedgerStore; signing: AuditSigning }> {
  // First: a missing or bad key stops the start before any store is opened.
  const signing = resolveAuditSigning(config);
  const events = await openEventStore(config);
  const documents = await openDocumentStore(config).catch(async (error: unknown) => {
    await events.close().catch(() => undefined);
    throw error;
  });
  return { events, documents, vault: await openVault(config, documents), ledger: await openLedgerStore(config, documents), signing };
}

/** The file of the embedded read models (TENANTRY_READ_MODELS=sqlite), in the data dir beside the log. */
export const READ_MODELS_FILE = 'readmodels.sqlite';

/** The event log the configuration names. */
export async function openEventStore(config: Config): Promise<EventStore> {
  let events: EventStore;
  switch (config.eventStore) {
    case 'memory': {
      const { MemoryEventStore } = await import('../eventstore/memory.js');
      events = new MemoryEventStore();
      break;
    }
    case 'sqlite': {
      const { SqliteEventStore } = await import('../eventstore/sqlite.js');
      privateDir(config.dataDir);
      events = new SqliteEventStore(path.join(config.dataDir, 'events.sqlite'), {
        synchronous: config.sqliteSynchronous,
        busyTimeoutMs: config.sqliteBusyTimeoutMs,
        guardInstallation: true,
        backgroundCheckpoints: true,
      });
      break;
    }
    case 'kurrentdb': {
      const { KurrentDbEventStore } = await import('../eventstore/kurrentdb.js');
      events = new KurrentDbEventStore(config.kurrentDbUrl ?? '');
      break;
    }
  }
  return events;
}

/**
 * The read models' store the configuration names. With MongoDB,
 * TENANTRY_MONGODB_TRANSACTIONS=on and a server without transactions is a
 * ConfigError naming the variable.
 */
export async function openDocumentStore(config: Config): Promise<DocumentStore> {
  if (config.readModels === 'memory') {
    const { MemoryDocumentStore } = await import('../readmodels/memory.js');
    return new MemoryDocumentStore();
  }
  if (config.readModels === 'sqlite') {
    const { SqliteDocumentStore } = await import('../readmodels/sqlite.js');
    return SqliteDocumentStore.open(path.join(config.dataDir, READ_MODELS_FILE), {
      backgroundCheckpoints: true,
      documentCacheBytes: config.readModelCacheMb * 2 ** 20,
    });
  }
  const { MongoDocumentStore, MongoTransactionsUnsupportedError } = await import('../readmodels/mongodb.js');
  try {
    return await MongoDocumentStore.connect(config.mongoUri ?? '', config.mongoDb, {
      transactions: config.mongoTransactions,
      operationTimeoutMS: config.mongoOperationTimeoutMs,
      maxInFlight: config.mongoMaxInFlight,
      maxQueuedReads: config.mongoMaxQueuedReads,
    });
  } catch (error) {
    if (error instanceof MongoTransactionsUnsupportedError) {
      throw new ConfigError(
        'TENANTRY_MONGODB_TRANSACTIONS',
        `is on, but the MongoDB server does not offer transactions: ${error.reason}. Set it to auto or off, or use a replica set`,
      );
    }
    throw error;
  }
}

/**
 * "As of now and later": the whole log. A four-digit year on purpose: times
 * are compared as ISO strings, and years past 9999 are written `+275760-…`,
 * which sorts before every real date.
 */
const END_OF_TIME = new Date('9999-12-31T23:59:59.999Z');

/** The read models that decide who may do what. */
const ACCESS_PROJECTIONS = ['bindings', 'groups', 'roles'] as const;

/** A key made for this Application alone (tests, and tools that never sign). */
function throwAwaySigning(): AuditSigning {
  const key = SigningKey.generate();
  return { key, trusted: new TrustedKeys([key.publicKey]), generatedAt: null };
}

/** Names this process in projection leases, so an operator can tell which replica holds what. */
function projectorIdentity(): string {
  return `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
}

/** The running system, transport-agnostic: GraphQL, the CLI and tests drive it. */
export class Application {
  readonly config: Config;
  readonly logger: Logger;
  readonly events: EventStore;
  readonly documents: DocumentStore;
  readonly readModels: ReadModels;
  readonly projections: Projections;
  readonly commands: CommandHandler;
  readonly authorizer: Authorizer;
  readonly upcasters: UpcasterRegistry;
  readonly vault: SecretVault;
  /** The tamper-evident ledger over the log: a Merkle tree per tenant and its signed checkpoints. */
  readonly ledger: LedgerStore;
  readonly signing: AuditSigning;
  /** Slots for expensive work, per tenant and in all (fairness between tenants). */
  readonly heavy: HeavyWork;
  /** Verifications on threads of their own, where the stores can be opened from one (verification-thread.ts); else null. */
  readonly verificationThreads: VerificationThreads | null;
  /** Whether the ledger projection is among this application's projections. */
  private readonly hashesLedger: boolean;

  constructor(parts: ApplicationParts) {
    this.config = parts.config;
    this.logger = parts.logger;
    this.events = parts.events;
    this.documents = parts.documents;
    this.vault = parts.vault ?? new SqliteVault(':memory:', ephemeralMasterKey());
    this.upcasters = parts.upcasters ?? defaultUpcasters;
    this.heavy = new HeavyWork({ perTenant: parts.config.limits.heavyPerTenant, total: parts.config.limits.heavyTotal });
    this.ledger = parts.ledger ?? new DocumentLedgerStore(parts.documents);
    this.signing = parts.signing ?? throwAwaySigning();
    const threadStores = threadStoresOf(parts.config, {
      events: parts.events,
      documents: parts.documents,
      ledger: this.ledger,
      customUpcasters: this.upcasters !== defaultUpcasters,
    });
    this.verificationThreads = threadStores ? new VerificationThreads(threadStores, parts.config.limits.heavyTotal) : null;
    const projections = parts.projections ?? [...allProjections(), ledgerProjection(this.ledger)];
    this.readModels = new ReadModels(parts.documents, projections);
    this.hashesLedger = projections.some((p) => p.name === LEDGER_PROJECTION.name);
    // Read models in MongoDB or in the SQLite file are shared by every replica (and the CLI): one applies each projection (lease), the others stand by.
    // With the projector off, this process only ever stands by: a `tenantry project` process applies.
    const runnerOptions = {
      onPoison: parts.config.projectionOnPoison,
      checkpointDeferMs: parts.config.checkpointDeferMs,
      ...(parts.documents.kind !== 'memory' ? { lease: { owner: projectorIdentity(), ttlMs: parts.config.projectionLeaseMs } } : {}),
      ...((parts.projector ?? parts.config.projector) === 'off' ? { followOnly: true } : {}),
    };
    this.projections = new Projections(parts.events, parts.documents, projections, this.upcasters, parts.logger, runnerOptions, {
      stallMs: parts.config.projectionStallMs,
    });
    this.readModels.resolveTargetsWith((name) => this.projections.servingTarget(name));
    this.commands = new CommandHandler(parts.events, this.upcasters, {
      snapshots: new DocumentSnapshotStore(parts.documents),
      onSnapshotError: (error) => parts.logger.debug({ err: error }, 'aggregate snapshot store unavailable: folding from the log'),
    });
    this.authorizer = new Authorizer(
      this.readModels,
      parts.roles ?? new ReadModelRoleLookup(this.readModels),
      (subject, tenantId) => accessDataAsOf(this, tenantId, subject, END_OF_TIME),
      () => this.accessVersion(),
    );
  }

  /** Positions of the projections that decide access; null while any of them is not live here. */
  private accessVersion(): string | null {
    try {
      return ACCESS_PROJECTIONS.map((name) => this.projections.runner(name).lastChangePosition).join('|');
    } catch {
      return null;
    }
  }

  async start(): Promise<void> {
    // A ledger behind its projection's checkpoint would never be filled again: refused (src/ledger/start-guard.ts).
    if (this.hashesLedger) {
      await refuseLedgerBehind(this.events, this.documents, this.ledger);
    }
    await this.projections.start();
  }

  private readonly stopHooks: (() => Promise<void>)[] = [];

  /** Work to end before the stores close (background jobs). */
  beforeStop(hook: () => Promise<void>): void {
    this.stopHooks.push(hook);
  }

  async stop(): Promise<void> {
    await this.verificationThreads?.stopAll();
    await Promise.all(this.stopHooks.map((hook) => hook().catch(() => undefined)));
    await this.projections.stop();
    await this.events.close();
    await this.vault.close();
    await this.ledger.close();
    await this.documents.close();
  }

  /**
   * Handles a command, then waits (bounded) until the projections have applied
   * what it wrote, so that the caller's next query sees it (read-your-writes).
   */
  async execute<C extends Command, E extends DomainEvent, S>(
    decider: Decider<C, E, S>,
    stream: string,
    command: C,
    options: HandleOptions<S> = {},
  ): Promise<HandleResult<S>> {
    const result = await this.commands.handle(decider, stream, command, options);
    await this.settle(result, stream);
    return result;
  }

  /**
   * For a deletion that cascades before its own command: the position of
   * that command when an earlier attempt of this request (same
   * Idempotency-Key) already wrote it, so the retry answers as the first
   * time did instead of NOT_FOUND; null when it did not. Waits for the
   * projections like the first answer did.
   */
  async deletedBefore(stream: string, metadata: CommandMetadata): Promise<number | null> {
    const events = await this.commands.findCommand(stream, metadata);
    const last = events.at(-1);
    if (!last) return null;
    await this.settle({ position: last.position, events }, stream);
    return last.position;
  }

  /**
   * Read-your-writes for a command already handled: waits (up to the
   * configured timeout) until the projections of its event types have
   * applied it, so the answer and the caller's next read see the write.
   */
  async settle(result: { position: number; events: readonly { type: string }[] }, stream: string): Promise<void> {
    if (result.position <= 0) return;
    const caughtUp = await this.projections.waitFor(
      result.position,
      this.config.readYourWritesTimeoutMs,
      result.events.map((e) => e.type),
    );
    if (!caughtUp) {
      this.logger.warn({ position: result.position, stream }, 'projections did not catch up within the read-your-writes timeout');
    }
  }
}
