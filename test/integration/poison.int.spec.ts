import { describe, expect, it } from 'vitest';
import { Application } from '../../src/application/application.js';
import { loadConfig } from '../../src/config/config.js';
import { MemoryEventStore } from '../../src/eventstore/memory.js';
import type { NewEvent } from '../../src/eventstore/port.js';
import { eventIdFor } from '../../src/commands/handler.js';
import { allProjections } from '../../src/projections/index.js';
import { documentProjection, type ReadModelDocument } from '../../src/projections/runtime/projection.js';
import { PARKED, type ParkedEventDocument } from '../../src/projections/runtime/runner.js';
import { MemoryDocumentStore } from '../../src/readmodels/memory.js';
import { silentLogger } from '../../src/shared/logger.js';

const event = (n: number, description: string): NewEvent => ({
  id: eventIdFor(`poison-${n}`, 0),
  type: n === 0 ? 'NamespaceCreated' : 'NamespaceUpdated',
  schemaVersion: 1,
  data: n === 0 ? { id: 'x', description } : { id: 'x', changes: { description: { before: null, after: description } } },
  metadata: {
    tenantId: 't',
    actor: { type: 'SYSTEM', id: 't' },
    correlationId: 'c',
    commandId: `poison-${n}`,
    occurredAt: new Date(n * 1000).toISOString(),
  },
});

interface Seen extends ReadModelDocument {
  seen: number[];
}

/** A projection whose code cannot handle one particular event (the "poison"). */
const fragile = documentProjection({
  name: 'fragile',
  version: 1,
  collection: 'fragile',
  eventTypes: ['NamespaceCreated', 'NamespaceUpdated'],
  documentId: (e) => e.metadata.tenantId,
  evolve: (doc: Seen | null, e) => {
    const description =
      e.type === 'NamespaceCreated'
        ? (e.data as { description: string }).description
        : (e.data as { changes: { description: { after: string } } }).changes.description.after;
    if (description === 'poison') throw new Error('cannot handle this description');
    return { _id: e.metadata.tenantId, tenantId: e.metadata.tenantId, _pos: e.position, seen: [...(doc?.seen ?? []), e.position] };
  },
});

async function run(onPoison: 'stop' | 'park') {
  const events = new MemoryEventStore();
  const stream = 't/namespace/x';
  await events.appendToStream(stream, [event(0, 'a'), event(1, 'b'), event(2, 'poison'), event(3, 'c')], { expectedRevision: 'no_stream' });
  const config = loadConfig({ TENANTRY_DATA_DIR: '/tmp/unused', TENANTRY_PROJECTION_ON_POISON: onPoison });
  const app = new Application({
    config,
    logger: silentLogger(),
    events,
    documents: new MemoryDocumentStore(),
    projections: [...allProjections(), fragile],
  });
  await app.start();
  await app.projections.started();
  return app;
}

describe('a poison event (real memory stores)', () => {
  it('stop: the projection stops at that event and reports it; the others go on; nothing is skipped', async () => {
    const app = await run('stop');
    const lag = async () => (await app.projections.lag()).find((l) => l.projection === 'fragile');
    await expect
      .poll(async () => (await lag())?.error ?? null, { timeout: 5000 })
      .toMatch(/cannot apply event .* \(NamespaceUpdated at position 3 in t\/namespace\/x\): cannot handle/);
    expect((await lag())?.failedAt).toBe(3);
    // Applied up to the event before it, and not past it.
    const doc = await app.readModels.instanceCollection<Seen>('fragile').findOne({ _id: 't' });
    expect(doc?.seen).toEqual([1, 2]);
    expect((await lag())?.position).toBe(2);
    expect(await app.projections.caughtUp()).toBe(false);
    // The other projections are not held back.
    expect((await app.projections.lag()).find((l) => l.projection === 'namespaces')).toMatchObject({ lagEvents: 0, error: null });
    await app.stop();
  });

  it('park: the event is recorded in projection_parked and the projection goes on past it', async () => {
    const app = await run('park');
    await expect
      .poll(async () => (await app.readModels.instanceCollection<Seen>('fragile').findOne({ _id: 't' }))?.seen, { timeout: 5000 })
      .toEqual([1, 2, 4]);
    const parked = await app.documents.collection<ParkedEventDocument>(PARKED).find({});
    expect(parked).toHaveLength(1);
    expect(parked[0]).toMatchObject({ projection: 'fragile', eventType: 'NamespaceUpdated', position: 3 });
    expect(parked[0]?.error).toMatch(/cannot handle this description/);
    await app.stop();
  });
});
