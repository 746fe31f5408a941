import { SingleBar, Presets } from 'cli-progress';
import { Application, openStores } from '../application/application.js';
import { Services } from '../application/services.js';
import type { Config } from '../config/config.js';
import { createLogger } from '../shared/logger.js';

/**
 * Operator commands open the stores without running projections or the
 * bootstrap, so that they can work beside running gateways.
 */
export async function withOperatorApplication<T>(
  config: Config,
  work: (opened: { app: Application; services: Services }) => Promise<T>,
): Promise<T> {
  const stores = await openStores(config);
  const logger = createLogger({ level: process.env['TENANTRY_LOG_LEVEL'] ?? 'warn', destination: process.stderr });
  const app = new Application({
    config,
    logger,
    events: stores.events,
    documents: stores.documents,
    vault: stores.vault,
    ledger: stores.ledger,
  });
  try {
    return await work({ app, services: new Services(app) });
  } finally {
    await app.stop();
  }
}

export interface Progress {
  update(done: number, total: number, detail: string): void;
  /** Ends the bar; the summary, when given, on a line of its own. */
  stop(summary?: string): void;
}

/** A progress bar on a terminal; plain lines (at most one every 2 s) when stderr is a file or a pipe. */
export function progress(label: string): Progress {
  if (process.stderr.isTTY) {
    const bar = new SingleBar(
      { format: `${label} [{bar}] {percentage}% | {value}/{total} | {detail}`, stream: process.stderr, hideCursor: true, etaBuffer: 50 },
      Presets.shades_classic,
    );
    let started = false;
    return {
      update(done, total, detail) {
        if (!started) {
          bar.start(total, done, { detail });
          started = true;
        } else {
          bar.setTotal(total);
          bar.update(done, { detail });
        }
      },
      stop(summary) {
        if (started) bar.stop();
        if (summary !== undefined) process.stderr.write(`${summary}\n`);
      },
    };
  }
  let last = 0;
  return {
    update(done, total, detail) {
      if (Date.now() - last < 2000) return;
      last = Date.now();
      process.stderr.write(`${label}: ${done}/${total} ${detail}\n`);
    },
    stop(summary) {
      if (summary !== undefined) process.stderr.write(`${summary}\n`);
    },
  };
}

export const formatRate = (perSecond: number): string => `${Math.round(perSecond).toLocaleString('en-US')} events/s`;

export const formatEta = (seconds: number | null): string =>
  seconds === null
    ? 'ETA ?'
    : seconds < 60
      ? `ETA ${Math.ceil(seconds)} s`
      : `ETA ${Math.floor(seconds / 60)} min ${Math.ceil(seconds % 60)} s`;
