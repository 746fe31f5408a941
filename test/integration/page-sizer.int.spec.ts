import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NewEvent } from '../../src/eventstore/port.js';
import { SqliteEventStore } from '../../src/eventstore/sqlite.js';
import { PageSizer } from '../../src/shared/page-sizer.js';

/**
 * Pages of the embedded log are read and parsed in one synchronous call: a
 * page of 250 events of 200 KB held the event loop for 100 ms and more (the
 * verification case of bench/isolation.ts, after a tenant saved large flow
 * sources). The sizer keeps each read within about a slice, on a real
 * SQLite log; counted in page sizes asked for, not in time.
 */
function event(size: number): NewEvent {
  const commandId = randomUUID();
  return {
    id: randomUUID(),
    type: 'ThingHappened',
    schemaVersion: 1,
    data: { blob: 'x'.repeat(size) },
    metadata: {
      tenantId: 'acme',
      actor: { type: 'SYSTEM', id: 'test' },
      correlationId: commandId,
      commandId,
      occurredAt: '2026-12-03T00:00:00.000Z',
    },
  };
}

describe('PageSizer on the SQLite log', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'tenantry-page-sizer-'));
  const store = new SqliteEventStore(path.join(dir, 'events.sqlite'));
  const LARGE = 400;
  const SMALL = 3_000;
  beforeAll(async () => {
    for (let i = 0; i < LARGE; i += 50)
      await store.appendToStream(
        'acme/large/a',
        Array.from({ length: 50 }, () => event(200_000)),
        { expectedRevision: 'any' },
      );
    for (let i = 0; i < SMALL; i += 500)
      await store.appendToStream(
        'acme/small/b',
        Array.from({ length: 500 }, () => event(10)),
        { expectedRevision: 'any' },
      );
  });
  afterAll(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  async function readEverything(sizer: PageSizer, prefix: string): Promise<number> {
    let after = 0;
    let read = 0;
    for (;;) {
      const { page, full } = await sizer.read((maxCount) => store.readAll({ after, maxCount, streamPrefix: prefix, fromStorage: true }));
      read += page.length;
      const last = page.at(-1);
      if (!last || !full) return read;
      after = last.position;
    }
  }

  it('asks for small pages of large events (a read of 250 of them is 50 MB) and still reads every one', async () => {
    const sizer = new PageSizer(250);
    expect(await readEverything(sizer, 'acme/large/')).toBe(LARGE);
    // 16 events of 200 KB (3 MB of JSON) already take more than a 3 ms slice to parse: the pages shrink, never grow to 250.
    expect(Math.max(...sizer.asked.slice(1))).toBeLessThanOrEqual(16);
    expect(Math.min(...sizer.asked)).toBeLessThan(16);
  });

  it('grows to full pages on small events', async () => {
    // A budget of 3 ms: reads of small events grow to the largest page (with the default 1 ms slice they stop near 150).
    const sizer = new PageSizer(250, 3);
    expect(await readEverything(sizer, 'acme/small/')).toBe(SMALL);
    expect(Math.max(...sizer.asked)).toBe(250);
  });
});
