import { readFileSync } from 'node:fs';
import { Command } from 'commander';
import { registerAuditCommands } from './audit.js';
import { registerBackupCommands } from './backup.js';
import { describeFailure, ExitCode } from './exit-codes.js';
import { registerTenantCommands } from './tenants.js';
import { registerEventCommands } from './events.js';
import { registerProjectCommand } from './project.js';
import { registerProjectionCommands } from './projections.js';
import { ConfigError, loadConfig, type Config } from '../config/config.js';
import { createLogger } from '../shared/logger.js';
import { openApplication, startGateway, type Running } from '../server/start.js';
import { flowSourceWorkers } from '../aggregates/flow/flow-source.async.js';

function config(): Config {
  try {
    return loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`tenantry: configuration error: ${error.message}\n`);
      process.exit(ExitCode.USAGE);
    }
    throw error;
  }
}

async function serve(): Promise<void> {
  const cfg = config();
  const logger = createLogger({ level: cfg.logLevel });
  // Drain requests, stop the projections (checkpoints saved, leases released so that another replica
  // takes over at once), close the stores (SQLite folds its WAL back in), exit 0. A second signal exits at once.
  // While the start still waits for a store, a signal calls the wait off: nothing is open, exit 0.
  const starting = new AbortController();
  let running: Running | null = null;
  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) {
      logger.warn({ signal }, 'second signal: exiting without finishing the shutdown');
      process.exit(130);
    }
    stopping = true;
    if (!running) {
      logger.info({ signal }, 'shutting down while starting');
      starting.abort();
      return;
    }
    logger.info({ signal }, 'shutting down: finishing in-flight requests');
    running
      .stop()
      .then(() => {
        logger.info({ signal }, 'tenantry gateway stopped');
        process.exit(0);
      })
      .catch((error: unknown) => {
        logger.error({ err: error }, 'shutdown failed');
        process.exit(ExitCode.INTERNAL);
      });
  };
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  try {
    running = await startGateway(cfg, logger, { signal: starting.signal });
  } catch (error) {
    if (!starting.signal.aborted) throw error;
    logger.info('tenantry gateway stopped before its stores opened');
    process.exit(0);
  }
  if (stopping) {
    // The signal came while the application was being built, after the stores had opened: stop it now.
    await running.stop();
    logger.info('tenantry gateway stopped');
    process.exit(0);
  }
  if (running.generatedAdminToken) {
    // Shown exactly once: only its hash is kept in the data dir. On stderr: stdout is the JSON log stream, which log shippers collect.
    process.stderr.write(
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

/** The version in package.json (beside `src/` and `dist/` alike). */
function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

export async function runCli(argv: string[]): Promise<void> {
  const program = new Command();
  // Parse errors are thrown, not exited on, so that every failure leaves through one place with its documented exit code.
  const printed = new WeakSet<object>();
  program.exitOverride((error) => {
    printed.add(error);
    throw error;
  });
  program
    .name('tenantry')
    .description('Multi-tenant governance API: GraphQL gateway over an event-sourced core')
    .version(version(), '-V, --version', 'print the version and exit')
    .addHelpText(
      'after',
      `\nExit codes: ${ExitCode.OK} ok, ${ExitCode.VERIFICATION_FAILED} verification failed, ${ExitCode.USAGE} usage or configuration error, ` +
        `${ExitCode.BAD_INPUT} bad input, ${ExitCode.NOT_FOUND_OR_CONFLICT} not found or conflict, ${ExitCode.STORE_UNAVAILABLE} store unavailable, ` +
        `${ExitCode.DATA_DIR_DAMAGED} damaged data dir, ${ExitCode.INTERNAL} internal error, ${ExitCode.INTERRUPTED} interrupted.`,
    );

  program.command('serve').description('run the GraphQL gateway').action(serve);

  registerTenantCommands(program, withApplication);
  registerProjectCommand(program, config);
  registerProjectionCommands(program, config);
  registerEventCommands(program, config);
  registerBackupCommands(program, config);
  registerAuditCommands(program, withApplication, config);

  // Node's own ending for an uncaught error is exit code 1, which here means "verification failed": every failure leaves
  // through describeFailure instead. A reader that went away (`tenantry … | head`) ends the command quietly.
  const fail = (error: unknown): never => {
    const failure = describeFailure(error, error instanceof Error && printed.has(error));
    if (failure.message) process.stderr.write(`${failure.message}\n`);
    process.exit(failure.code);
  };
  process.stdout.on('error', (error: NodeJS.ErrnoException) => (error.code === 'EPIPE' ? process.exit(ExitCode.OK) : fail(error)));
  process.on('uncaughtException', fail);
  process.on('unhandledRejection', fail);

  try {
    await program.parseAsync(argv);
  } catch (error) {
    fail(error);
  }
}
