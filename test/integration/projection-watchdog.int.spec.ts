import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { Application } from '../../src/application/application.js';
import { eventIdFor } from '../../src/commands/handler.js';
import { loadConfig } from '../../src/config/config.js';
import { MemoryEventStore } from '../../src/eventstore/memory.js';
import type { NewEvent } from '../../src/eventstore/port.js';
import type { Projection } from '../../src/projections/runtime/projection.js';
import { MemoryDocumentStore } from '../../src/readmodels/memory.js';
import { Metrics } from '../../src/server/metrics.js';
import { createLogger } from '../../src/shared/logger.js';
import { metricValue, waitUntil } from '../support/process.js';

const created = (n: number): NewEvent => ({
  id: eventIdFor(`watchdog-${n}`, 0),
  type: 'NamespaceCreated',
  schemaVersion: 1,
  data: { id: `ns${n}`, description: null },
  metadata: {
    tenantId: 't',
    actor: { type: 'SYSTEM', id: 't' },
    correlationId: `c${n}`,
    commandId: `watchdog-${n}`,
    occurredAt: new Date(1_700_000_000_000 + n * 1000).toISOString(),
  },
});

/**
 * A projection whose apply awaits something that does not answer until the
 * test lets it: the shape of a store operation that never settles. It
 * reports no failure, which is what the watchdog is for.
 */
function gatedProjection(): { projection: Projection; release: () => void } {
  let release: () => void = () => undefined;
  let gate: Promise<void> | null = null;
  const projection: Projection = {
    name: 'gated',
    version: 1,
    eventTypes: new Set(['NamespaceCreated']),
    collections: { gated: [] },
    async apply(events, target) {
      if (events.some((e) => e.position >= 2)) {
        gate ??= new Promise<void>((resolve) => (release = resolve));
        await gate;
      }
      for (const e of events) await target.collection('gated').insertOne({ _id: e.id, tenantId: 't', _pos: e.position });
    },
  };
  return { projection, release: () => release() };
}

describe('the projection watchdog (real memory stores, a projection that waits on a gate)', () => {
  it('reports a projection behind and not moving, with what it awaits, in lag (/readyz), /metrics and the log; clears it when it moves', async () => {
    const lines: string[] = [];
    const destination = new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(...chunk.toString().split('\n').filter(Boolean));
        done();
      },
    });
    const events = new MemoryEventStore();
    const gated = gatedProjection();
    const app = new Application({
      config: loadConfig({ TENANTRY_DATA_DIR: '/tmp/unused', TENANTRY_PROJECTION_STALL_MS: '300' }),
      logger: createLogger({ level: 'info', destination }),
      events,
      documents: new MemoryDocumentStore(),
      projections: [gated.projection],
    });
    const metrics = new Metrics(app.projections, app.commands, app.events);
    await app.start();
    await app.projections.started();
    try {
      await events.appendToStream('t/namespace/ns1', [created(1)], { expectedRevision: 'no_stream' });
      await waitUntil('the first event applied', () => app.projections.caughtUp(), 10_000);
      expect((await app.projections.lag())[0]?.stalled).toBeNull();

      await events.appendToStream('t/namespace/ns2', [created(2)], { expectedRevision: 'no_stream' });
      await waitUntil('the watchdog to report a stall', async () => (await app.projections.lag())[0]?.stalled != null, 10_000);
      const [lag] = await app.projections.lag();
      expect(lag).toMatchObject({ projection: 'gated', position: 1, lagEvents: 1, error: null });
      expect(lag?.stalled?.reason).toMatch(/^applying 1 events up to position 2 \(for \d+ s\), no failure reported$/);
      expect((await metrics.registry.metrics()).includes('tenantry_projection_stalled_seconds{projection="gated"}')).toBe(true);
      const logged = lines
        .map((l) => JSON.parse(l) as Record<string, unknown>)
        .filter((l) => l['msg'] === 'projection stalled: behind the log and not moving');
      expect(logged).toHaveLength(1); // once per change of state, however often the watchdog looks
      expect(logged[0]).toMatchObject({ projection: 'gated', position: 1, head: 2 });

      gated.release();
      await waitUntil('the projection to catch up', () => app.projections.caughtUp(), 10_000);
      await app.projections.watch();
      expect((await app.projections.lag())[0]?.stalled).toBeNull();
      expect(metricValue(await metrics.registry.metrics(), 'tenantry_projection_stalled_seconds', { projection: 'gated' })).toBe(0);
      expect(lines.some((l) => l.includes('projection no longer stalled'))).toBe(true);
    } finally {
      gated.release();
      await app.stop();
      metrics.close();
    }
  }, 30_000);
});
