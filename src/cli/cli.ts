import { Command, InvalidArgumentError } from 'commander';
import { registerAuditCommands } from './audit.js';
import { registerBackupCommands } from './backup.js';
import { registerEventCommands } from './events.js';
import { registerProjectCommand } from './project.js';
import { registerProjectionCommands } from './projections.js';
import { ConfigError, loadConfig, type Config } from '../config/config.js';
import { createLogger } from '../shared/logger.js';
import { DomainError } from '../shared/errors.js';
import { DamagedDataDirError } from '../eventstore/installation.js';
import { BackupError } from '../eventstore/backup.js';
import { openApplication, startGateway, systemCaller } from '../server/start.js';
import { flowSourceWorkers } from '../aggregates/flow/flow-source.async.js';

function config(): Config {
  try {
    return loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`tenantry: configuration error: ${error.message}\n`);
      process.exit(2);
    }
    throw error;
  }
}

async function serve(): Promise<void> {
  const cfg = config();
  const logger = createLogger({ level: cfg.logLevel });
  const running = await startGateway(cfg, logger);
  if (running.generatedAdminToken) {
    // Shown exactly once: only its hash is kept in the data dir.
    process.stdout.write(
      `\n  Bootstrap admin token (shown once, store it now):\n\n    ${running.generatedAdminToken}\n\n` +
        `  Set TENANTRY_ADMIN_TOKEN to choose your own, or delete ${cfg.dataDir}/admin-token.sha256 to generate a new one.\n\n`,
    );
  }
  logger.info(
    {
      url: `http://${cfg.host}:${running.gateway.server.address() && (running.gateway.server.address() as { port: number }).port}`,
      eventStore: cfg.eventStore,
      readModels: cfg.readModels,
      projector: cfg.projector,
      ...(cfg.readModels === 'mongodb' ? { mongoTransactions: running.app.documents.transactions === true } : {}),
    },
    'tenantry gateway listening',
  );
  // Drain requests, stop the projections (checkpoints saved, leases released so that another replica
  // takes over at once), close the stores (SQLite folds its WAL back in), exit 0. A second signal exits at once.
  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) {
      logger.warn({ signal }, 'second signal: exiting without finishing the shutdown');
      process.exit(130);
    }
    stopping = true;
    logger.info({ signal }, 'shutting down: finishing in-flight requests');
    running
      .stop()
      .then(() => {
        logger.info({ signal }, 'tenantry gateway stopped');
        process.exit(0);
      })
      .catch((error: unknown) => {
        logger.error({ err: error }, 'shutdown failed');
        process.exit(1);
      });
  };
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGTERM', () => shutdown('SIGTERM'));
}

/** Runs an operator command against the configured stores as the local system principal. */
async function withApplication<T>(work: (opened: Awaited<ReturnType<typeof openApplication>>) => Promise<T>): Promise<T> {
  const cfg = config();
  const opened = await openApplication(
    cfg,
    createLogger({ level: process.env['TENANTRY_LOG_LEVEL'] ?? 'warn', destination: process.stderr }),
  );
  try {
    return await work(opened);
  } finally {
    await opened.app.stop();
    await flowSourceWorkers.destroy();
  }
}

function tenantIdArg(value: string): string {
  if (!/^[a-z0-9][a-z0-9_-]*$/.test(value)) throw new InvalidArgumentError('a tenant id: lower-case letters, digits, _ and -');
  return value;
}

export async function runCli(argv: string[]): Promise<void> {
  const program = new Command();
  program.name('tenantry').description('Multi-tenant governance API: GraphQL gateway over an event-sourced core');

  program.command('serve').description('run the GraphQL gateway').action(serve);

  const tenants = program.command('tenants').description('manage tenants');
  tenants
    .command('create')
    .description('create a tenant')
    .requiredOption('--tenant <id>', 'tenant id', tenantIdArg)
    .requiredOption('--name <name>', 'display name')
    .option('--admin-user <userId>', 'user bound as admin in the new tenant')
    .action(async (opts: { tenant: string; name: string; adminUser?: string }) => {
      await withApplication(async ({ app, services }) => {
        const { tenant } = await services.tenants.create(systemCaller(app, 'cli'), {
          id: opts.tenant,
          name: opts.name,
          adminUserId: opts.adminUser ?? null,
        });
        process.stdout.write(`created tenant ${tenant.id} (${tenant.name})\n`);
      });
    });

  registerProjectCommand(program, config);
  registerProjectionCommands(program, config);
  registerEventCommands(program, config);
  registerBackupCommands(program, config);
  registerAuditCommands(program, withApplication);

  try {
    await program.parseAsync(argv);
  } catch (error) {
    // Found only once a store answers, e.g. TENANTRY_MONGODB_TRANSACTIONS=on and a server without transactions.
    if (error instanceof ConfigError) {
      process.stderr.write(`tenantry: configuration error: ${error.message}\n`);
      process.exit(2);
    }
    if (error instanceof DomainError) {
      process.stderr.write(`tenantry: ${error.code}: ${error.message}\n`);
      process.exit(1);
    }
    // A data dir whose log is missing, empty, another one or shorter than it was: never bootstrapped over.
    if (error instanceof BackupError) {
      process.stderr.write(`tenantry: ${error.message}\n`);
      process.exit(1);
    }
    if (error instanceof DamagedDataDirError) {
      process.stderr.write(`tenantry: damaged data dir: ${error.message}\n`);
      process.exit(3);
    }
    throw error;
  }
}
