import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/config.js';
import { EventStoreUnavailableError, type EventStore } from '../../src/eventstore/port.js';
import { startGateway, type Running } from '../../src/server/start.js';
import { createLogger } from '../../src/shared/logger.js';
import { ADMIN_TOKEN } from '../support/gateway.js';
import { TEST_AUDIT_SIGNING_KEY } from '../support/signing.js';

/**
 * The gateway's start waits for a store that goes away after it opened, while
 * the application is built (docs/stores.md, "Start-up while a store is down"): the
 * attempt's stores are closed and the next attempt starts over.
 */
describe('a store unavailable while the application is built', () => {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'tenantry-startwait-int-'));
  let running: Running | null = null;
  afterAll(async () => {
    await running?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('is retried like a store unreachable at start, and the gateway then serves', async () => {
    const lines: { level: number; msg: string }[] = [];
    const destination = new Writable({
      write(chunk: Buffer, _encoding, done) {
        for (const line of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(line) as (typeof lines)[number]);
        done();
      },
    });
    const config = loadConfig({
      TENANTRY_DATA_DIR: dataDir,
      TENANTRY_PORT: '0',
      TENANTRY_EVENT_STORE: 'sqlite',
      TENANTRY_READ_MODELS: 'memory',
      TENANTRY_ADMIN_TOKEN: ADMIN_TOKEN,
      TENANTRY_AUDIT_SIGNING_KEY: TEST_AUDIT_SIGNING_KEY,
    });
    let failuresLeft = 2;
    let wrapped = 0;
    // The log fails its first writes and reads of a stream (a KurrentDB leader election, say): bootstrap fails.
    const flaky = (events: EventStore): EventStore => {
      wrapped++;
      return new Proxy(events, {
        get(target, property, receiver) {
          const value = Reflect.get(target, property, receiver) as unknown;
          if ((property === 'append' || property === 'readStream') && typeof value === 'function') {
            return (...args: unknown[]) => {
              if (failuresLeft > 0) {
                failuresLeft--;
                return Promise.reject(new EventStoreUnavailableError('leader election in progress'));
              }
              return (value as (...a: unknown[]) => unknown).apply(target, args);
            };
          }
          return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
        },
      });
    };
    running = await startGateway(config, createLogger({ level: 'info', destination }), {
      wrapEvents: flaky,
      backoff: { initialMs: 10, maxMs: 20, jitter: 0 },
    });
    expect(failuresLeft).toBe(0);
    expect(wrapped).toBe(3);
    expect(lines.filter((l) => l.level >= 40).map((l) => l.msg.split(':')[0])).toEqual(['store unreachable at start']);
    expect(lines.some((l) => l.msg === 'stores open after 3 attempts')).toBe(true);

    expect((await fetch(running.gateway.url('/readyz'))).status).toBe(200);
    const created = await fetch(running.gateway.url('/api/v1/graphql'), {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${ADMIN_TOKEN}` },
      body: JSON.stringify({ query: 'mutation { createTenant(input: {id: "acme", name: "Acme", adminUserId: "admin"}) { id } }' }),
    });
    expect(((await created.json()) as { data?: unknown }).data).toEqual({ createTenant: { id: 'acme' } });
  }, 60_000);
});
