import { InvalidArgumentError, type Command } from 'commander';
import { once } from 'node:events';
import { createReadStream, createWriteStream, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { exportTenant, importTenant, lines } from '../application/tenant-transfer.js';
import type { Config } from '../config/config.js';
import { checkSqliteLog } from '../eventstore/sqlite-check.js';
import { eventConsumers, eventConsumersTable } from '../projections/event-consumers.js';
import { isValidId } from '../shared/ids.js';
import { ExitCode, exitCodeFor } from './exit-codes.js';
import { progress, withOperatorApplication } from './operator.js';

function tenantArg(value: string): string {
  if (!isValidId('tenant', value)) throw new InvalidArgumentError('a tenant id (lower-case letters, digits, _ and -)');
  return value;
}

export function registerEventCommands(program: Command, config: () => Config): void {
  const events = program
    .command('events')
    .description("the event log: check it, export and import a tenant's history, list the event types");

  events
    .command('catalog')
    .description('list every event type with the resource it is about, its audit action and the projections that apply it')
    .option('--json', 'print the catalogue as JSON (one array)')
    .action((opts: { json?: boolean }) => {
      const rows = eventConsumers();
      if (opts.json) process.stdout.write(`${JSON.stringify(rows)}\n`);
      else process.stdout.write(eventConsumersTable(rows));
    });

  events
    .command('check')
    .description(
      'read every page and every event of the embedded log (events.sqlite), without starting anything; exit 1 when something cannot be read',
    )
    .option('--json', 'print the result as JSON')
    .action((opts: { json?: boolean }) => {
      const settings = config();
      if (settings.eventStore !== 'sqlite') {
        process.stderr.write(
          `tenantry: events check reads the embedded log (TENANTRY_EVENT_STORE=sqlite); this one is ${settings.eventStore}\n`,
        );
        process.exitCode = ExitCode.USAGE;
        return;
      }
      const file = path.join(settings.dataDir, 'events.sqlite');
      const result = checkSqliteLog(file);
      if (opts.json) process.stdout.write(`${JSON.stringify({ file, ...result })}\n`);
      else if (result.ok) process.stdout.write(`${file}: ok, ${result.events} events, every page readable\n`);
      else {
        process.stdout.write(`${file}: DAMAGED (${result.events} events read)\n${result.problems.map((p) => `  ${p}`).join('\n')}\n`);
        process.stdout.write(
          'restore the data dir from a backup: tenantry restore (docs/operations.md, "Backup and restore (embedded data dir)")\n',
        );
      }
      if (!result.ok) process.exitCode = ExitCode.VERIFICATION_FAILED;
    });

  events
    .command('export')
    .description("write a tenant's events as NDJSON to stdout (header line, then one event a line, in log order)")
    .requiredOption('--tenant <id>', 'tenant to export', tenantArg)
    .action(async (opts: { tenant: string }) => {
      await withOperatorApplication(config(), async ({ app }) => {
        const bar = progress(`export ${opts.tenant}`);
        let count = -1;
        for await (const line of exportTenant(app, opts.tenant, (p) => bar.update(p.position, p.head, `${p.events} events`))) {
          count++;
          // Respect the consumer's pace: constant memory whatever the tenant's size.
          if (!process.stdout.write(line)) await once(process.stdout, 'drain');
        }
        bar.stop(`exported ${count} events of tenant ${opts.tenant}`);
      });
    });

  events
    .command('import')
    .description('read an export from stdin into a NEW tenant id (restore or fork); re-running an interrupted import resumes it')
    .requiredOption('--tenant <id>', 'the new tenant id', tenantArg)
    .action(async (opts: { tenant: string }) => {
      const resume = `run the same command with the same input again to resume: tenantry events import --tenant ${opts.tenant} < EXPORT_FILE`;
      // Ctrl-C (or SIGTERM): stop reading, write what was read, say how to resume. A second signal exits at once.
      const controller = new AbortController();
      const onSignal = (): void => {
        if (controller.signal.aborted) process.exit(ExitCode.INTERRUPTED);
        controller.abort();
        process.stdin.destroy();
      };
      process.on('SIGINT', onSignal);
      process.on('SIGTERM', onSignal);
      // The import is read twice (checked whole before anything is written): stdin is kept in a private temporary file.
      const dir = mkdtempSync(path.join(tmpdir(), 'tenantry-import-'));
      const file = path.join(dir, 'events.ndjson');
      try {
        process.stderr.write(`import ${opts.tenant}: reading the export (it is checked whole before anything is written)\n`);
        await pipeline(process.stdin, createWriteStream(file, { mode: 0o600 }), { signal: controller.signal });
        await withOperatorApplication(config(), async ({ app }) => {
          const bar = progress(`import ${opts.tenant}`);
          // Against the export's head position (its header): a total known before the first event is read.
          const result = await importTenant(
            app,
            opts.tenant,
            () => lines(createReadStream(file)),
            (p) => bar.update(p.sourcePosition ?? 0, p.head, `source position, ${p.events} events written`),
            controller.signal,
          );
          if (!result.completed) {
            bar.stop(`interrupted after ${result.events} events of tenant ${result.sourceTenantId}, all written; ${resume}`);
            process.exitCode = ExitCode.INTERRUPTED;
            return;
          }
          bar.stop(
            `imported ${result.events} events of tenant ${result.sourceTenantId} as ${result.tenantId}` +
              (result.skipped > 0 ? ` (${result.skipped} API-token events not carried over: create new tokens)` : '') +
              ' (domains are not carried over)',
          );
        });
      } catch (error) {
        if (controller.signal.aborted && (error as { name?: string }).name === 'AbortError') {
          process.stderr.write(`import interrupted while reading its input (nothing written); ${resume}\n`);
          process.exitCode = ExitCode.INTERRUPTED;
          return;
        }
        // A store that went away mid-import: what was appended stays, and the same import continues from there.
        if (exitCodeFor(error) === ExitCode.STORE_UNAVAILABLE) process.stderr.write(`import stopped: ${resume}\n`);
        throw error;
      } finally {
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
        rmSync(dir, { recursive: true, force: true });
      }
    });
}
