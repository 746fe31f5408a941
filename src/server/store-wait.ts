import { setTimeout as sleep } from 'node:timers/promises';
import type { Config } from '../config/config.js';
import { EventLogDamagedError, EventStoreUnavailableError } from '../eventstore/port.js';
import { DocumentStoreUnavailableError } from '../readmodels/port.js';
import type { Logger } from '../shared/logger.js';

/**
 * The gateway's start while a store does not answer yet (docs/stores.md,
 * "Start-up while a store is down"): open, and on a store-unavailable error wait with
 * exponential backoff and try again, until the stores open or the start is
 * called off. Any other error is thrown at once: it is not transient.
 */

/** The stores the gateway cannot run without and that may come up after it. */
export type StoreName = 'eventStore' | 'readModels';

/** One store the start waits for, as `/readyz` shows it. */
export interface WaitingFor {
  store: StoreName;
  /** Host(s) and port(s) only: never credentials, path or options. */
  target: string;
  /** The last error, one line; null before the first attempt ended. */
  error: string | null;
  /** Attempts made so far. */
  attempts: number;
  /** Until the next attempt; 0 while one runs. */
  nextAttemptInMs: number;
}

export interface BackoffOptions {
  /** The wait after the first failed attempt. */
  initialMs: number;
  /** The wait never grows past this. */
  maxMs: number;
  /** Up to this fraction of each wait is taken off at random, so that replicas do not retry in step. */
  jitter: number;
}

export const DEFAULT_BACKOFF: BackoffOptions = { initialMs: 250, maxMs: 10_000, jitter: 0.2 };

/** The wait after failed attempt number `attempt` (1-based): doubling from initialMs up to maxMs, less the jitter. */
export function backoffDelay(attempt: number, options: BackoffOptions = DEFAULT_BACKOFF, random: () => number = Math.random): number {
  const base = Math.min(options.maxMs, options.initialMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(base * (1 - options.jitter * random()));
}

/**
 * `mongodb://user:secret@h1:27017,h2:27017/db?replicaSet=rs0` → `h1:27017,h2:27017`.
 * Also for `kurrentdb://…` and `kurrentdb+discover://…`.
 */
export function redactTarget(url: string | null | undefined): string {
  if (!url) return '';
  const withoutScheme = url.replace(/^[a-z][a-z0-9+.-]*:\/\//i, '');
  const withoutCredentials = withoutScheme.replace(/^[^@/?]*@/, '');
  return withoutCredentials.split(/[/?#]/)[0] ?? '';
}

/** One line of an error's message, credentials in URLs masked, bounded. */
export function oneLine(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  const first = (message.split('\n')[0] ?? '').replace(/\/\/[^@/\s]*@/g, '//***@');
  return first.length > 300 ? `${first.slice(0, 299)}…` : first;
}

/** The store an error says is unreachable; null when the error is not about reaching a store (then it is fatal). */
export function unreachableStore(error: unknown): StoreName | null {
  // A damaged log does not heal by waiting: the start ends (exit code 6) and names the recovery.
  if (error instanceof EventLogDamagedError) return null;
  if (error instanceof EventStoreUnavailableError) return 'eventStore';
  if (error instanceof DocumentStoreUnavailableError) return 'readModels';
  return null;
}

/** Where each store is, as `/readyz` names it: a host and port, or the embedded store's kind (`sqlite`, `memory`). */
export function storeTargets(config: Config): Record<StoreName, string> {
  return {
    eventStore: config.eventStore === 'kurrentdb' ? redactTarget(config.kurrentDbUrl) : config.eventStore,
    readModels: config.readModels === 'mongodb' ? redactTarget(config.mongoUri) : config.readModels,
  };
}

/** The stores behind the network, which may come up after the gateway; all of them when every store is embedded. */
export function remoteStores(config: Config): StoreName[] {
  const remote: StoreName[] = [];
  if (config.eventStore === 'kurrentdb') remote.push('eventStore');
  if (config.readModels === 'mongodb') remote.push('readModels');
  return remote.length > 0 ? remote : ['eventStore', 'readModels'];
}

/** `work`, or the signal's reason as soon as it aborts (a MongoDB attempt can take its whole server selection timeout). */
async function abortable<T>(work: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return work;
  let onAbort: (() => void) | undefined;
  const aborted = new Promise<never>((_resolve, reject) => {
    onAbort = () => reject(signal.reason as Error);
    signal.addEventListener('abort', onAbort, { once: true });
  });
  try {
    return await Promise.race([work, aborted]);
  } finally {
    if (onAbort) signal.removeEventListener('abort', onAbort);
    // An attempt left behind that fails later must not surface as an unhandled rejection.
    work.catch(() => undefined);
  }
}

export interface StoreWaitOptions {
  backoff?: BackoffOptions;
  random?: () => number;
  now?: () => number;
}

/** Opens with retries, and says what it waits for meanwhile. */
export class StoreWait {
  private failure: { store: StoreName; error: string; attempts: number; nextAttemptAt: number } | null = null;
  private attempts = 0;
  private opened = false;
  private readonly backoff: BackoffOptions;
  private readonly random: () => number;
  private readonly now: () => number;

  /** `pending`: what `/readyz` names before the first attempt ended (remoteStores). */
  constructor(
    private readonly logger: Logger,
    private readonly targets: Record<StoreName, string>,
    private readonly pending: StoreName[],
    options: StoreWaitOptions = {},
  ) {
    this.backoff = options.backoff ?? DEFAULT_BACKOFF;
    this.random = options.random ?? Math.random;
    this.now = options.now ?? Date.now;
  }

  /** What the start waits for now: empty once the stores are open. Before the first attempt ended: the pending stores. */
  waitingFor(): WaitingFor[] {
    if (this.opened) return [];
    if (!this.failure) {
      return this.pending.map((store) => ({
        store,
        target: this.targets[store],
        error: null,
        attempts: this.attempts,
        nextAttemptInMs: 0,
      }));
    }
    const { store, error, attempts, nextAttemptAt } = this.failure;
    return [{ store, target: this.targets[store], error, attempts, nextAttemptInMs: Math.max(0, nextAttemptAt - this.now()) }];
  }

  /**
   * `attempt()` until it succeeds. A store-unavailable error waits and tries
   * again; any other error, or `signal` aborting, ends the wait with it.
   * Logs once per change of state: the first failure and each change of
   * store or reason (warn), the success after failures (info).
   */
  async open<T>(attempt: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    for (;;) {
      signal?.throwIfAborted();
      this.attempts++;
      try {
        const result = await abortable(attempt(), signal);
        if (this.failure) this.logger.info({ attempts: this.attempts }, `stores open after ${this.attempts} attempts`);
        this.opened = true;
        this.failure = null;
        return result;
      } catch (error) {
        const store = unreachableStore(error);
        if (!store) throw error;
        signal?.throwIfAborted();
        const reason = oneLine(error);
        const delay = backoffDelay(this.attempts, this.backoff, this.random);
        const previous = this.failure;
        this.failure = { store, error: reason, attempts: this.attempts, nextAttemptAt: this.now() + delay };
        if (!previous || previous.store !== store || previous.error !== reason) {
          this.logger.warn(
            { store, target: this.targets[store], error: reason, attempts: this.attempts, retryInMs: delay },
            previous
              ? 'store still unreachable, for another reason: retrying with backoff'
              : 'store unreachable at start: serving /healthz, /readyz answers 503 until it opens; retrying with backoff',
          );
        }
        await sleep(delay, undefined, signal ? { signal } : {});
      }
    }
  }
}
