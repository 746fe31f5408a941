import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/config/config.js';
import { EventStoreUnavailableError } from '../../src/eventstore/port.js';
import { DocumentStoreUnavailableError } from '../../src/readmodels/port.js';
import { backoffDelay, oneLine, redactTarget, StoreWait, type BackoffOptions } from '../../src/server/store-wait.js';
import { createLogger } from '../../src/shared/logger.js';

function capturingLogger(): { logger: ReturnType<typeof createLogger>; lines: { level: number; msg: string; store?: string }[] } {
  const lines: { level: number; msg: string; store?: string }[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(line) as (typeof lines)[number]);
      done();
    },
  });
  return { logger: createLogger({ level: 'info', destination }), lines };
}

const fast: BackoffOptions = { initialMs: 1, maxMs: 4, jitter: 0 };
const targets = { eventStore: 'kurrent:2113', readModels: 'mongo:27017' };

describe('backoff schedule', () => {
  it('doubles from 250 ms to a 10 s cap', () => {
    const noJitter = () => 0;
    expect([1, 2, 3, 4, 5, 6, 7, 8, 20].map((n) => backoffDelay(n, undefined, noJitter))).toEqual([
      250, 500, 1000, 2000, 4000, 8000, 10_000, 10_000, 10_000,
    ]);
  });

  it('takes at most a fifth off at random, never adds', () => {
    expect(backoffDelay(3, undefined, () => 0.999)).toBe(800);
    for (let i = 0; i < 100; i++) {
      const delay = backoffDelay(10);
      expect(delay).toBeGreaterThanOrEqual(8000);
      expect(delay).toBeLessThanOrEqual(10_000);
    }
  });
});

describe('what /readyz may show', () => {
  it('a target is hosts and ports only', () => {
    expect(redactTarget('mongodb://user:secret@h1:27017,h2:27018/db?replicaSet=rs0')).toBe('h1:27017,h2:27018');
    expect(redactTarget('kurrentdb+discover://admin:changeit@cluster.local:2113?tls=true')).toBe('cluster.local:2113');
    expect(redactTarget('mongodb://localhost')).toBe('localhost');
  });

  it('an error is one line, credentials masked', () => {
    expect(oneLine(new Error('could not reach mongodb://u:p@h:1/x\n    at stack'))).toBe('could not reach mongodb://***@h:1/x');
  });
});

describe('StoreWait', () => {
  it('retries store-unavailable errors, logging once per change of state', async () => {
    const { logger, lines } = capturingLogger();
    const wait = new StoreWait(logger, targets, ['readModels'], { backoff: fast });
    const failures = [
      new DocumentStoreUnavailableError('MongoDB unavailable: connect ECONNREFUSED'),
      new DocumentStoreUnavailableError('MongoDB unavailable: connect ECONNREFUSED'),
      new DocumentStoreUnavailableError('MongoDB unavailable: connect ECONNREFUSED'),
      new DocumentStoreUnavailableError('MongoDB unavailable: read ECONNRESET'),
      new EventStoreUnavailableError('KurrentDB unavailable'),
      new EventStoreUnavailableError('KurrentDB unavailable'),
    ];
    let calls = 0;
    const seen: unknown[] = [];
    expect(wait.waitingFor()).toEqual([{ store: 'readModels', target: 'mongo:27017', error: null, attempts: 0, nextAttemptInMs: 0 }]);
    const result = await wait.open(async () => {
      calls++;
      seen.push(wait.waitingFor()[0]?.store);
      const failure = failures.shift();
      if (failure) throw failure;
      return 'open';
    });
    expect(result).toBe('open');
    expect(calls).toBe(7);
    expect(seen.slice(1)).toEqual(['readModels', 'readModels', 'readModels', 'readModels', 'eventStore', 'eventStore']);
    expect(lines.map((l) => [l.level, l.store ?? null, l.msg.split(':')[0]])).toEqual([
      [40, 'readModels', 'store unreachable at start'],
      [40, 'readModels', 'store still unreachable, for another reason'],
      [40, 'eventStore', 'store still unreachable, for another reason'],
      [30, null, 'stores open after 7 attempts'],
    ]);
    expect(wait.waitingFor()).toEqual([]);
  });

  it('says what it waits for between attempts', async () => {
    const { logger } = capturingLogger();
    const wait = new StoreWait(logger, targets, ['readModels'], { backoff: { initialMs: 60_000, maxMs: 60_000, jitter: 0 } });
    const controller = new AbortController();
    const opening = wait.open(() => Promise.reject(new DocumentStoreUnavailableError('down')), controller.signal);
    await new Promise((r) => setTimeout(r, 10));
    const [waiting] = wait.waitingFor();
    expect(waiting).toMatchObject({ store: 'readModels', target: 'mongo:27017', error: 'down', attempts: 1 });
    expect(waiting?.nextAttemptInMs).toBeGreaterThan(50_000);
    expect(waiting?.nextAttemptInMs).toBeLessThanOrEqual(60_000);
    controller.abort();
    await expect(opening).rejects.toThrow(/abort/i);
  });

  it('any other error is fatal at once', async () => {
    const { logger, lines } = capturingLogger();
    const wait = new StoreWait(logger, targets, ['readModels'], { backoff: fast });
    let calls = 0;
    const fatal = new ConfigError('TENANTRY_MONGODB_TRANSACTIONS', 'is on, but…');
    await expect(
      wait.open(() => {
        calls++;
        return Promise.reject(fatal);
      }),
    ).rejects.toBe(fatal);
    expect(calls).toBe(1);
    expect(lines).toEqual([]);
  });

  it('an abort ends the wait at once, during an attempt that never ends too', async () => {
    const { logger } = capturingLogger();
    const wait = new StoreWait(logger, targets, ['readModels'], { backoff: fast });
    const controller = new AbortController();
    let calls = 0;
    const opening = wait.open(() => {
      calls++;
      return calls === 1 ? Promise.reject(new DocumentStoreUnavailableError('down')) : new Promise<never>(() => undefined);
    }, controller.signal);
    await new Promise((r) => setTimeout(r, 30));
    expect(calls).toBe(2); // the second attempt hangs
    const started = Date.now();
    controller.abort();
    await expect(opening).rejects.toThrow(/abort/i);
    expect(Date.now() - started).toBeLessThan(1000);
  });

  it('an abort during the wait between attempts ends it too', async () => {
    const { logger } = capturingLogger();
    const wait = new StoreWait(logger, targets, ['readModels'], { backoff: { initialMs: 60_000, maxMs: 60_000, jitter: 0 } });
    const controller = new AbortController();
    const opening = wait.open(() => Promise.reject(new DocumentStoreUnavailableError('down')), controller.signal);
    await new Promise((r) => setTimeout(r, 10));
    controller.abort();
    await expect(opening).rejects.toThrow(/abort/i);
  });
});
