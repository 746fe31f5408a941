import type { Command } from 'commander';
import { Application, openDocumentStore, openEventStore } from '../application/application.js';
import { ConfigError, type Config } from '../config/config.js';
import { createLogger, type Logger } from '../shared/logger.js';
import { ExitCode, exitCodeFor } from './exit-codes.js';

export interface RunningProjector {
  app: Application;
  /** Finishes the batch in flight, saves its checkpoint, releases the leases, closes the stores. Idempotent. */
  stop(): Promise<void>;
}

/**
 * `tenantry project`: the projections alone, in their own process. It applies
 * the configured event log to the MongoDB read models under the same leases
 * (and fencing) as gateway replicas, so any number of them may run: one holds
 * each projection, the others stand by. No HTTP server, no bootstrap, no
 * vault: gateways (best with TENANTRY_PROJECTOR=off) serve and write.
 */
export async function startProjector(config: Config, logger: Logger): Promise<RunningProjector> {
  if (config.readModels === 'memory') {
    throw new ConfigError(
      'TENANTRY_READ_MODELS',
      '`tenantry project` needs sqlite or mongodb: in-memory read models live inside each gateway, and a separate process cannot project them',
    );
  }
  if (config.eventStore === 'memory') {
    throw new ConfigError('TENANTRY_EVENT_STORE', '`tenantry project` needs a log other processes share (sqlite or kurrentdb), not memory');
  }
  const events = await openEventStore(config);
  const documents = await openDocumentStore(config).catch(async (error: unknown) => {
    await events.close().catch(() => undefined);
    throw error;
  });
  // The default vault (in memory, throw-away key): projections never touch secret values.
  const app = new Application({ config, logger, events, documents, projector: 'embedded' });
  try {
    await app.start();
  } catch (error) {
    await app.stop().catch(() => undefined);
    throw error;
  }
  logger.info(
    {
      eventStore: config.eventStore,
      readModels: config.readModels,
      database: config.mongoDb,
      mongoTransactions: documents.transactions === true,
      leaseMs: config.projectionLeaseMs,
      projections: app.projections.runners.map((r) => ({ projection: r.projection.name, target: r.target, position: r.appliedPosition })),
    },
    'tenantry projector running',
  );
  let stopping: Promise<void> | null = null;
  return {
    app,
    stop() {
      stopping ??= app.stop();
      return stopping;
    },
  };
}

function positions(app: Application): Record<string, number> {
  return Object.fromEntries(app.projections.runners.map((r) => [r.projection.name, r.appliedPosition]));
}

/** The command: runs until SIGTERM or SIGINT, then stops gracefully (a second signal exits at once). */
async function project(config: () => Config): Promise<void> {
  const cfg = config();
  const logger = createLogger({ level: cfg.logLevel });
  let running: RunningProjector;
  try {
    running = await startProjector(cfg, logger);
  } catch (error) {
    if (error instanceof ConfigError) throw error;
    logger.fatal({ err: error }, 'projector failed to start');
    process.exit(exitCodeFor(error));
  }
  // Runners' timers are unref'd (a gateway's HTTP server keeps its process up): this one keeps the projector up.
  const heartbeat = setInterval(() => logger.debug({ positions: positions(running.app) }, 'projector positions'), 60_000);
  let signalled = false;
  const shutdown = (signal: string): void => {
    if (signalled) {
      logger.warn({ signal }, 'second signal: exiting without waiting for the batch in flight (the next projector re-applies it)');
      process.exit(ExitCode.INTERRUPTED);
    }
    signalled = true;
    logger.info({ signal }, 'shutting down: finishing the batch in flight, saving its checkpoint, releasing the leases');
    running
      .stop()
      .finally(() => clearInterval(heartbeat))
      .then(() => {
        logger.info({ positions: positions(running.app) }, 'projector stopped');
        process.exit(0);
      })
      .catch((error: unknown) => {
        logger.error({ err: error }, 'shutdown failed');
        process.exit(ExitCode.INTERNAL);
      });
  };
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGTERM', () => shutdown('SIGTERM'));
}

export function registerProjectCommand(program: Command, config: () => Config): void {
  program
    .command('project')
    .description(
      'run only the projections (MongoDB read models, under leases), without an HTTP server; pair with gateways run with TENANTRY_PROJECTOR=off',
    )
    .action(() => project(config));
}
