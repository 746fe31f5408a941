import type { Command } from 'commander';
import { ConfigError, type Config } from '../config/config.js';
import { backupDataDir, restoreDataDir } from '../eventstore/backup.js';

/** `tenantry backup` and `tenantry restore`: the embedded data dir (SQLite log, vault, ledger, keys), online. */
export function registerBackupCommands(program: Command, config: () => Config): void {
  program
    .command('backup')
    .description(
      'copy the data dir (SQLite event log, vault, ledger, master key, admin token hash) into a new directory, consistently, while gateways run',
    )
    .requiredOption('--to <dir>', 'a new or empty directory')
    .action(async (opts: { to: string }) => {
      const cfg = config();
      if (cfg.eventStore !== 'sqlite')
        throw new ConfigError(
          'TENANTRY_EVENT_STORE',
          `is ${cfg.eventStore}: tenantry backup copies the embedded SQLite data dir; back KurrentDB up with its own tools`,
        );
      const started = Date.now();
      const manifest = await backupDataDir(cfg.dataDir, opts.to);
      const bytes = manifest.files.reduce((sum, f) => sum + f.bytes, 0);
      process.stdout.write(
        `backed up ${cfg.dataDir} to ${opts.to}: log ${manifest.logId} up to position ${manifest.position}, ${manifest.files.length} files, ${bytes} bytes in ${((Date.now() - started) / 1000).toFixed(1)}s\n`,
      );
    });

  program
    .command('restore')
    .description('restore a backup (tenantry backup) into the data dir; with the gateways stopped')
    .requiredOption('--from <dir>', 'a directory written by tenantry backup')
    .option('--replace', 'the data dir holds an installation: move its files aside (into replaced-<time>/) and restore over it')
    .action((opts: { from: string; replace?: boolean }) => {
      const cfg = config();
      const manifest = restoreDataDir(opts.from, cfg.dataDir, { replace: opts.replace === true });
      process.stdout.write(
        `restored ${opts.from} into ${cfg.dataDir}: log ${manifest.logId} up to position ${manifest.position} (backed up ${manifest.createdAt}); read models are rebuilt from it at the next start\n`,
      );
    });
}
