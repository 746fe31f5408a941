import path from 'node:path';
import { mkdirSync } from 'node:fs';
import type { Command, Decider, DomainEvent } from '../aggregates/decider.js';
import { Authorizer, type RoleLookup } from '../auth/authorizer.js';
import { CommandHandler, type HandleOptions, type HandleResult } from '../commands/handler.js';
import type { Config } from '../config/config.js';
import type { EventStore } from '../eventstore/port.js';
import { upcasters as defaultUpcasters, type UpcasterRegistry } from '../events/upcasting.js';
import { allProjections } from '../projections/index.js';
import { Projections } from '../projections/runtime/coordinator.js';
import type { Projection } from '../projections/runtime/projection.js';
import type { DocumentStore } from '../readmodels/port.js';
import { ReadModels } from '../readmodels/registry.js';
import type { Logger } from '../shared/logger.js';

export interface ApplicationParts {
  config: Config;
  logger: Logger;
  events: EventStore;
  documents: DocumentStore;
  projections?: Projection[];
  upcasters?: UpcasterRegistry;
  roles?: RoleLookup;
}

/** Until custom roles and groups exist, only managed roles and direct bindings grant anything. */
const managedRolesOnly: RoleLookup = {
  customRole: () => Promise.resolve(null),
  groupsOf: () => Promise.resolve([]),
};

/** Opens the stores the configuration names. */
export async function openStores(config: Config): Promise<{ events: EventStore; documents: DocumentStore }> {
  let events: EventStore;
  switch (config.eventStore) {
    case 'memory': {
      const { MemoryEventStore } = await import('../eventstore/memory.js');
      events = new MemoryEventStore();
      break;
    }
    case 'sqlite': {
      const { SqliteEventStore } = await import('../eventstore/sqlite.js');
      mkdirSync(config.dataDir, { recursive: true });
      events = new SqliteEventStore(path.join(config.dataDir, 'events.sqlite'), { synchronous: config.sqliteSynchronous });
      break;
    }
    case 'kurrentdb': {
      const { KurrentDbEventStore } = await import('../eventstore/kurrentdb.js');
      events = new KurrentDbEventStore(config.kurrentDbUrl ?? '');
      break;
    }
  }
  let documents: DocumentStore;
  if (config.readModels === 'mongodb') {
    const { MongoDocumentStore } = await import('../readmodels/mongodb.js');
    documents = await MongoDocumentStore.connect(config.mongoUri ?? '', config.mongoDb);
  } else {
    const { MemoryDocumentStore } = await import('../readmodels/memory.js');
    documents = new MemoryDocumentStore();
  }
  return { events, documents };
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

  constructor(parts: ApplicationParts) {
    this.config = parts.config;
    this.logger = parts.logger;
    this.events = parts.events;
    this.documents = parts.documents;
    this.upcasters = parts.upcasters ?? defaultUpcasters;
    const projections = parts.projections ?? allProjections();
    this.readModels = new ReadModels(parts.documents, projections);
    this.projections = new Projections(parts.events, parts.documents, projections, this.upcasters, parts.logger);
    this.commands = new CommandHandler(parts.events, this.upcasters);
    this.authorizer = new Authorizer(this.readModels, parts.roles ?? managedRolesOnly);
  }

  async start(): Promise<void> {
    await this.projections.start();
  }

  async stop(): Promise<void> {
    await this.projections.stop();
    await this.events.close();
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
    if (result.position > 0) {
      const caughtUp = await this.projections.waitFor(result.position, this.config.readYourWritesTimeoutMs);
      if (!caughtUp) {
        this.logger.warn({ position: result.position, stream }, 'projections did not catch up within the read-your-writes timeout');
      }
    }
    return result;
  }
}
