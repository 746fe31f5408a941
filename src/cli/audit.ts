import { createWriteStream } from 'node:fs';
import { Readable, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { InvalidArgumentError, type Command } from 'commander';
import type { Application } from '../application/application.js';
import { exportChunks, isExportFormat, type ExportFormat } from '../application/audit-export.js';
import type { Services } from '../application/services.js';
import type { Config } from '../config/config.js';
import { INSTANCE_SCOPE } from '../eventstore/port.js';
import { AUDIT_PROJECTION } from '../projections/audit/audit.projection.js';
import { systemCaller } from '../server/start.js';
import { isValidId } from '../shared/ids.js';
import { ExitCode } from './exit-codes.js';
import { progress } from './operator.js';
import { registerLedgerCommands, verifyOffline, verifyProofOffline } from './ledger.js';

type WithApplication = <T>(work: (opened: { app: Application; services: Services }) => Promise<T>) => Promise<T>;

/** A tenant id, or `_instance` for the instance trail (users and other events of no tenant). */
function trailArg(value: string): string {
  if (value !== INSTANCE_SCOPE && !isValidId('tenant', value)) {
    throw new InvalidArgumentError(`a tenant id (lower-case letters, digits, _ and -) or ${INSTANCE_SCOPE}`);
  }
  return value;
}

function formatArg(value: string): ExportFormat {
  if (!isExportFormat(value)) throw new InvalidArgumentError('ndjson or csv');
  return value;
}

function dateArg(value: string): Date {
  const parsed = new Date(value);
  if (Number.isNaN(parsed.getTime())) throw new InvalidArgumentError('an ISO-8601 date-time such as 2026-01-31T12:00:00Z');
  return parsed;
}

/**
 * The command line reads the read models through a fresh Application: with
 * in-memory read models they are rebuilt from the log first, so wait until
 * the audit projection has caught up with the log as it was when we started.
 */
async function catchUp(app: Application): Promise<void> {
  const target = await app.events.headPosition();
  const bar = progress('catching up with the event log');
  // Every projection, not only the audit log's: the tenant and its bindings are read before the trail.
  const names = [AUDIT_PROJECTION, ...(await app.projections.lag()).map((l) => l.projection).filter((name) => name !== AUDIT_PROJECTION)];
  for (const name of names) {
    const runner = app.projections.runner(name);
    while (!(await runner.waitFor(target, 1000))) {
      const error = runner.status().error;
      if (error) throw new Error(`the ${name} projection is failing: ${error}`);
      bar.update(runner.appliedPosition, target, `position (${name})`);
    }
  }
  bar.stop();
}

export function registerAuditCommands(program: Command, withApplication: WithApplication, config: () => Config): void {
  const audit = program.command('audit').description('verify and export the audit log; sign and prove its ledger');
  registerLedgerCommands(audit, withApplication, trailArg, config);

  audit
    .command('verify')
    .description(
      "check a tenant's events against its ledger and signed checkpoints, and its audit chain against the events; exit 1 naming the first problem. With --export and --checkpoint: an events export against a checkpoint file, offline",
    )
    .option('--tenant <id>', `tenant id, or ${INSTANCE_SCOPE} for the instance trail`, trailArg)
    .option('--export <file>', 'offline: an events export (tenantry events export)')
    .option('--checkpoint <file>', 'offline: a checkpoint file (tenantry audit checkpoint --output)')
    .option(
      '--proof <file>',
      'offline: an inclusion proof file (tenantry audit prove --position N --output); with --checkpoint, into the checkpoint you kept',
    )
    .option('--key <file>', 'offline: the public key (PEM) you trust, instead of the one in the checkpoint or proof file')
    .option('--json', 'the result as one JSON object (exit codes unchanged)')
    .action(async (opts: { tenant?: string; export?: string; checkpoint?: string; proof?: string; key?: string; json?: boolean }) => {
      if (opts.proof) {
        if (opts.export) throw new InvalidArgumentError('--proof and --export are two different checks: one at a time');
        verifyProofOffline(opts.proof, opts.checkpoint, opts.key, opts.json === true);
        return;
      }
      if (opts.export || opts.checkpoint) {
        if (!opts.export || !opts.checkpoint) throw new InvalidArgumentError('--export and --checkpoint go together');
        await verifyOffline(opts.export, opts.checkpoint, opts.key, opts.json === true);
        return;
      }
      if (!opts.tenant) throw new InvalidArgumentError('--tenant is required (or --export with --checkpoint, offline)');
      const tenant = opts.tenant;
      await withApplication(async ({ app, services }) => {
        await catchUp(app);
        const started = Date.now();
        await services.audit.requireWholeTrail(systemCaller(app, 'cli'), tenant); // an unknown tenant is an error, not an empty chain
        // Two passes, one bar each: the log against the ledger, then the chain against the log.
        const ledgerBar = progress(`ledger of ${tenant}`);
        const chainBar = progress(`audit chain of ${tenant}`);
        let chainStarted = false;
        // The whole chain, from the first entry: the command line is where an operator checks everything.
        const result = await services.audit.verifyNow(tenant, {
          full: true,
          onLedgerProgress: (n, total) => ledgerBar.update(n, total, 'events'),
          onProgress: (n, total) => {
            if (!chainStarted) ledgerBar.stop();
            chainStarted = true;
            chainBar.update(n, Math.max(n, total ?? n), 'entries');
          },
        });
        if (!chainStarted) ledgerBar.stop();
        chainBar.stop();
        const seconds = ((Date.now() - started) / 1000).toFixed(1);
        if (opts.json) {
          process.stdout.write(`${JSON.stringify({ tenant, ...result, seconds: Number(seconds) })}\n`);
          if (!result.ok) process.exitCode = ExitCode.VERIFICATION_FAILED;
          return;
        }
        if (result.ok) {
          process.stdout.write(
            `audit chain of ${tenant}: OK — ${result.checkedEntries} entries verified up to position ${result.verifiedUpTo} in ${seconds}s; last hash ${result.lastHash ?? '(empty chain)'}; ` +
              `ledger: ${result.checkedEvents ?? 0} events and ${result.checkedCheckpoints ?? 0} signed checkpoints checked\n`,
          );
          return;
        }
        const where = {
          readModel: 'read model',
          eventLog: 'comparison with the event log',
          ledger: "ledger's own store",
          checkpoint: 'signed checkpoints',
        }[result.source ?? 'eventLog'];
        process.stdout.write(
          `audit chain of ${tenant}: BROKEN at ${result.firstBrokenEntryId ? `entry ${result.firstBrokenEntryId} ` : ''}(position ${result.firstBrokenPosition}, found in the ${where}): ${result.reason}\n` +
            `  ${result.checkedEntries} entries before it verified\n`,
        );
        process.exitCode = ExitCode.VERIFICATION_FAILED;
      });
    });

  audit
    .command('export')
    .description('stream a tenant trail, oldest first, to stdout or a file')
    .requiredOption('--tenant <id>', `tenant id, or ${INSTANCE_SCOPE} for the instance trail`, trailArg)
    .option('--format <format>', 'ndjson or csv', formatArg, 'ndjson' as ExportFormat)
    .option('--from <date-time>', 'entries at or after this time', dateArg)
    .option('--to <date-time>', 'entries before this time', dateArg)
    .option('--output <file>', 'write to this file instead of stdout')
    .action(async (opts: { tenant: string; format: ExportFormat; from?: Date; to?: Date; output?: string }) => {
      await withApplication(async ({ app, services }) => {
        await catchUp(app);
        // Against the trail's length as its chain head counts it (no scan); a --from/--to range holds at most that many.
        const total = await services.audit.trailLength(opts.tenant);
        const entries = await services.audit.exportEntries(systemCaller(app, 'cli'), opts.tenant, {
          from: opts.from ?? null,
          to: opts.to ?? null,
        });
        const detail = opts.from || opts.to ? 'entries (the total is the whole trail; --from/--to select part of it)' : 'entries';
        const bar = progress(`export ${opts.tenant}`);
        const started = Date.now();
        let count = 0;
        const chunks = exportChunks(entries, opts.format, {
          onProgress: (n) => {
            count = n;
            bar.update(n, Math.max(n, total ?? n), detail);
          },
        });
        const sink: Writable = opts.output ? createWriteStream(opts.output) : process.stdout;
        await pipeline(Readable.from(chunks), sink, { end: sink !== process.stdout });
        const seconds = ((Date.now() - started) / 1000).toFixed(1);
        bar.stop(`exported ${count} entries of ${opts.tenant} as ${opts.format}${opts.output ? ` to ${opts.output}` : ''} in ${seconds}s`);
      });
    });
}
