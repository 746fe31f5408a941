import { InvalidArgumentError, type Command } from 'commander';
import type { Config } from '../config/config.js';
import { allProjections } from '../projections/index.js';
import { isValidId } from '../shared/ids.js';
import { ExitCode } from './exit-codes.js';
import { formatEta, formatRate, progress, withOperatorApplication } from './operator.js';

function tenantArg(value: string): string {
  if (!isValidId('tenant', value)) throw new InvalidArgumentError('a tenant id (lower-case letters, digits, _ and -)');
  return value;
}

function projectionArg(value: string): string {
  const names = allProjections().map((p) => p.name);
  if (!names.includes(value)) throw new InvalidArgumentError(`one of ${names.join(', ')}`);
  return value;
}

function positiveIntArg(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(n) || n < 1) throw new InvalidArgumentError('a whole number of at least 1');
  return n;
}

/** Ctrl-C stops a rebuild at the next batch boundary: its checkpoint is saved and the next run resumes. */
function abortOnInterrupt(): { signal: AbortSignal; dispose: () => void } {
  const controller = new AbortController();
  const onSignal = () => {
    process.stderr.write('\ninterrupted: stopping after the current batch (the next run resumes from here)…\n');
    controller.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return {
    signal: controller.signal,
    dispose: () => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    },
  };
}

export function registerProjectionCommands(program: Command, config: () => Config): void {
  const projections = program.command('projections').description('inspect and rebuild read models');

  projections
    .command('status')
    .description('per projection: the generation serving, its checkpoint, lag in events and seconds, a rebuild in progress')
    .option('--json', 'one JSON object a line')
    .action(async (opts: { json?: boolean }) => {
      const cfg = config();
      if (cfg.readModels === 'memory') {
        process.stderr.write(
          "note: read models are in memory (the embedded default), inside each gateway process: ask a gateway's /readyz or /metrics for its projections.\n",
        );
      }
      await withOperatorApplication(cfg, async ({ app }) => {
        for (const row of await app.projections.storedStatus()) {
          if (opts.json) {
            process.stdout.write(`${JSON.stringify(row)}\n`);
            continue;
          }
          const building = row.building ? `  building ${row.building} at ${row.buildingPosition ?? 0}` : '';
          const parked = row.parked > 0 ? `  ${row.parked} parked event(s) in projection_parked` : '';
          process.stdout.write(
            `${row.projection.padEnd(18)} ${row.serving.padEnd(8)} position ${String(row.position).padStart(9)}/${row.head}` +
              `  lag ${row.lagEvents} events, ${row.lagSeconds.toFixed(1)} s${building}${parked}\n`,
          );
        }
      });
    });

  projections
    .command('rebuild')
    .description('rebuild read models from the event log (resumable; Ctrl-C stops safely)')
    .option('--projection <name>', 'only this projection', projectionArg)
    .option('--tenant <id>', "only this tenant's documents, rebuilt in place", tenantArg)
    .option('--blue-green', 'build a new generation beside the serving one and switch at the end (the default for full rebuilds)')
    .option(
      '--staged',
      'blue/green: build the new generation in memory and write it in bulk every --flush-every events (much faster into MongoDB; holds the generation in memory)',
    )
    .option('--flush-every <events>', 'with --staged: events between two writes of the staged generation (default 200000)', positiveIntArg)
    .action(
      async (
        opts: { projection?: string; tenant?: string; blueGreen?: boolean; staged?: boolean; flushEvery?: number },
        command: Command,
      ) => {
        const cfg = config();
        // Option combinations are refused like bad option values: one line, exit code 2, no stack trace.
        const refuse = (message: string): never => command.error(`error: ${message}`, { exitCode: ExitCode.USAGE });
        if (opts.tenant && opts.blueGreen) refuse('--blue-green rebuilds every tenant; leave out --tenant');
        if (opts.tenant && opts.staged) refuse('--staged applies to blue/green rebuilds; leave out --tenant');
        if (opts.flushEvery !== undefined && !opts.staged) refuse('--flush-every goes with --staged');
        if (cfg.readModels === 'memory') {
          process.stderr.write(
            'note: read models are in memory (the embedded default): every start rebuilds them from the log; this run only measures a rebuild.\n',
          );
        }
        await withOperatorApplication(cfg, async ({ app }) => {
          const names = opts.projection ? [opts.projection] : allProjections().map((p) => p.name);
          const interrupt = abortOnInterrupt();
          let total = 0;
          const started = performance.now();
          try {
            for (const name of names) {
              const bar = progress(opts.tenant ? `${name}@${opts.tenant}` : name);
              const options = {
                signal: interrupt.signal,
                ...(opts.staged ? { staged: true, ...(opts.flushEvery ? { flushEvery: opts.flushEvery } : {}) } : {}),
                onProgress: (p: { read: number; position: number; head: number; eventsPerSecond: number; etaSeconds: number | null }) =>
                  bar.update(p.position, p.head, `${formatRate(p.eventsPerSecond)} ${formatEta(p.etaSeconds)}`),
              };
              const result = opts.tenant
                ? await app.projections.rebuildTenant(name, opts.tenant, options)
                : await app.projections.rebuild(name, options);
              total += result.events;
              bar.stop(
                result.completed
                  ? `${name}: ${result.events} events in ${result.seconds.toFixed(1)} s (${formatRate(result.events / Math.max(result.seconds, 0.001))}), serving ${result.serving}`
                  : `${name}: stopped after ${result.events} events; run the same command again to resume`,
              );
              if (!result.completed) {
                process.exitCode = ExitCode.INTERRUPTED;
                return;
              }
            }
          } finally {
            interrupt.dispose();
          }
          const seconds = (performance.now() - started) / 1000;
          process.stderr.write(`rebuilt ${names.length} projection(s): ${total} events read in ${seconds.toFixed(1)} s\n`);
        });
      },
    );
}
