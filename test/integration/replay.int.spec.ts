import { describe, expect, it, vi } from 'vitest';
import { v4 as uuid } from 'uuid';
import { Application } from '../../src/application/application.js';
import { tenantDecider } from '../../src/aggregates/tenant/tenant.js';
import { CommandHandler, eventIdFor } from '../../src/commands/handler.js';
import { loadConfig } from '../../src/config/config.js';
import { MemoryEventStore } from '../../src/eventstore/memory.js';
import type { NewEvent, RecordedEvent } from '../../src/eventstore/port.js';
import { EVENT_CATALOG } from '../../src/events/catalog.js';
import { upcasters, UpcasterRegistry } from '../../src/events/upcasting.js';
import { allProjections } from '../../src/projections/index.js';
import { ALIASES } from '../../src/projections/runtime/aliases.js';
import { documentProjection, type ReadModelDocument } from '../../src/projections/runtime/projection.js';
import { CHECKPOINTS } from '../../src/projections/runtime/runner.js';
import { TENANTS, type TenantDocument } from '../../src/projections/tenants/tenants.projection.js';
import { MemoryDocumentStore } from '../../src/readmodels/memory.js';
import type { DocumentStore } from '../../src/readmodels/port.js';
import { silentLogger } from '../../src/shared/logger.js';

const config = loadConfig({ TENANTRY_DATA_DIR: '/tmp/unused', TENANTRY_READ_YOUR_WRITES_TIMEOUT_MS: '10000' });

/** `count` namespace events over `tenants` tenants, appended straight into the log. */
async function seed(events: MemoryEventStore, count: number, tenants = ['t1', 't2']): Promise<void> {
  for (let i = 0; i < count; i++) {
    const tenantId = tenants[i % tenants.length] ?? 't1';
    const id = `ns${Math.floor(i / tenants.length / 5)}`;
    const first = i % (tenants.length * 5) < tenants.length;
    const command = uuid();
    const event: NewEvent = {
      id: eventIdFor(command, 0),
      type: first ? 'NamespaceCreated' : 'NamespaceUpdated',
      schemaVersion: 1,
      data: first ? { id, description: `d${i}` } : { id, changes: { description: { before: null, after: `d${i}` } } },
      metadata: {
        tenantId,
        namespace: id,
        actor: { type: 'SYSTEM', id: 'test' },
        correlationId: command,
        commandId: command,
        occurredAt: new Date(i * 1000).toISOString(),
      },
    };
    await events.appendToStream(`${tenantId}/namespace/${id}`, [event], { expectedRevision: 'any' });
  }
}

async function open(events: MemoryEventStore, documents: DocumentStore, extra: ReturnType<typeof documentProjection>[] = []) {
  const app = new Application({ config, logger: silentLogger(), events, documents, projections: [...allProjections(), ...extra] });
  app.projections.switchGraceMs = 50;
  await app.start();
  await app.projections.started();
  return app;
}

async function collectionDump(documents: DocumentStore, prefix: string): Promise<unknown[]> {
  const names = (await documents.listCollections()).filter((n) => n.startsWith(prefix));
  expect(names).toHaveLength(1);
  return documents.collection(names[0] ?? '').find({}, { sort: { _id: 1 } });
}

interface WidgetDoc extends ReadModelDocument {
  count: number;
  ids?: string[];
}

/** A test projection whose shape changes between versions: v2 also lists the namespace ids. */
const widgets = (version: 1 | 2) =>
  documentProjection({
    name: 'widgets',
    version,
    collection: 'widgets',
    eventTypes: ['NamespaceCreated'],
    documentId: (e) => e.metadata.tenantId,
    evolve: (doc: WidgetDoc | null, e) => ({
      _id: e.metadata.tenantId,
      tenantId: e.metadata.tenantId,
      _pos: e.position,
      count: (doc?.count ?? 0) + 1,
      ...(version === 2 ? { ids: [...(doc?.ids ?? []), (e.data as { id: string }).id] } : {}),
    }),
  });

describe('versioned read models and blue/green switches (real memory stores)', () => {
  it('a projection changed to a new version is built beside the old one, which keeps answering, then switches', async () => {
    const events = new MemoryEventStore();
    await seed(events, 20_000, ['t1']);
    const documents = new MemoryDocumentStore();
    const v1 = await open(events, documents, [widgets(1)]);
    const created = (await events.readAll({ maxCount: 100_000 })).filter((e) => e.type === 'NamespaceCreated').length;
    expect((await v1.readModels.instanceCollection<WidgetDoc>('widgets').findOne({ _id: 't1' }))?.count).toBe(created);
    await v1.projections.stop(); // not v1.stop(): that closes the stores v2 shares

    // "Deploy" version 2 on the same stores.
    const v2 = new Application({ config, logger: silentLogger(), events, documents, projections: [...allProjections(), widgets(2)] });
    v2.projections.switchGraceMs = 50;
    await v2.start();
    const answers: { target: string; doc: WidgetDoc | null }[] = [];
    while (v2.projections.servingTarget('widgets') !== 'v2') {
      const target = v2.projections.servingTarget('widgets');
      answers.push({ target, doc: await v2.readModels.instanceCollection<WidgetDoc>('widgets').findOne({ _id: 't1' }) });
      await new Promise((r) => setImmediate(r));
    }
    const after = await v2.readModels.instanceCollection<WidgetDoc>('widgets').findOne({ _id: 't1' });
    // While v2 was building, every answer came complete from v1; after the switch, from v2.
    expect(answers.length).toBeGreaterThan(0);
    for (const answer of answers) {
      expect(answer.target).toBe('v1');
      expect(answer.doc?.count).toBe(created);
    }
    expect(after?.count).toBe(created);
    expect(after?.ids).toHaveLength(created);
    await new Promise((r) => setTimeout(r, 200));
    expect(await documents.listCollections()).not.toContain('widgets_v1');
    await v2.stop();
  });

  it('two processes building the same new version both end up serving it (the one that loses the switch adopts it)', async () => {
    const events = new MemoryEventStore();
    await seed(events, 4000, ['t1']);
    const documents = new MemoryDocumentStore();
    const v1 = await open(events, documents, [widgets(1)]);
    const created = (await events.readAll({ maxCount: 100_000 })).filter((e) => e.type === 'NamespaceCreated').length;
    await v1.projections.stop();

    // Two replicas deployed with version 2 at once, on the same stores: both build it, one switches the alias.
    const deploy = () => {
      const app = new Application({ config, logger: silentLogger(), events, documents, projections: [...allProjections(), widgets(2)] });
      app.projections.switchGraceMs = 50;
      return app;
    };
    const [a, b] = [deploy(), deploy()];
    await Promise.all([a.start(), b.start()]);
    await vi.waitFor(
      () => {
        expect(a.projections.servingTarget('widgets')).toBe('v2');
        expect(b.projections.servingTarget('widgets')).toBe('v2');
      },
      { timeout: 10_000 },
    );
    // Past the grace period v1 is dropped; both still answer, from v2.
    await new Promise((r) => setTimeout(r, 300));
    expect(await documents.listCollections()).not.toContain('widgets_v1');
    for (const app of [a, b]) {
      const doc = await app.readModels.instanceCollection<WidgetDoc>('widgets').findOne({ _id: 't1' });
      expect(doc?.count).toBe(created);
      expect(doc?.ids).toHaveLength(created);
    }
    await a.projections.stop();
    await b.projections.stop();
  });

  it('a blue/green rebuild keeps queries complete, switches, and keeps applying new events to the new generation', async () => {
    const events = new MemoryEventStore();
    await seed(events, 5000);
    const documents = new MemoryDocumentStore();
    const app = await open(events, documents);
    const namespaces = () => app.readModels.instanceCollection('namespaces').countDocuments({ tenantId: 't1' });
    const expected = await namespaces();
    expect(expected).toBeGreaterThan(0);
    const seen: number[] = [];
    const result = await app.projections.rebuild('namespaces', {
      batchSize: 250,
      onProgress: () => void namespaces().then((n) => seen.push(n)),
    });
    expect(result).toMatchObject({ completed: true, serving: 'v1_g1' });
    expect(seen.length).toBeGreaterThan(5);
    expect(new Set(seen)).toEqual(new Set([expected]));
    expect(app.projections.servingTarget('namespaces')).toBe('v1_g1');
    await seed(events, 10, ['t1']);
    expect(await app.projections.waitFor(await events.headPosition(), 5000)).toBe(true);
    expect(await app.readModels.instanceCollection('namespaces').countDocuments({ tenantId: 't1' })).toBeGreaterThanOrEqual(expected);
    await new Promise((r) => setTimeout(r, 200));
    expect(await documents.listCollections()).not.toContain('namespaces_v1');
    await app.stop();
  });

  it('a rebuild stopped halfway and run again ends equal to a clean rebuild', async () => {
    const events = new MemoryEventStore();
    await seed(events, 4000);
    const clean = await open(events, new MemoryDocumentStore());
    const expected = await clean.readModels.instanceCollection('namespaces').find({}, { sort: { _id: 1 } });
    await clean.projections.stop();

    const documents = new MemoryDocumentStore();
    const app = await open(events, documents);
    const controller = new AbortController();
    const first = await app.projections.rebuild('namespaces', {
      batchSize: 200,
      signal: controller.signal,
      onProgress: (p) => {
        if (p.read >= 2000) controller.abort();
      },
    });
    expect(first.completed).toBe(false);
    expect(app.projections.servingTarget('namespaces')).toBe('v1');
    const alias = await documents.collection<{ _id: string; building: string | null }>(ALIASES).findOne({ _id: 'namespaces' });
    expect(alias?.building).toBe('v1_g1');

    const second = await app.projections.rebuild('namespaces', { batchSize: 200 });
    expect(second.completed).toBe(true);
    // It resumed: the second run read only what the first had not.
    expect(first.events + second.events).toBe(await events.headPosition());
    expect(await collectionDump(documents, 'namespaces_v1_g1')).toEqual(expected);
    await app.stop();
  });

  it("a tenant rebuild rewrites only that tenant's documents", async () => {
    const events = new MemoryEventStore();
    await seed(events, 2000);
    const documents = new MemoryDocumentStore();
    const app = await open(events, documents);
    const collection = app.readModels.instanceCollection<{ _id: string; tenantId: string; description: string | null }>('namespaces');
    const clean = await collection.find({}, { sort: { _id: 1 } });
    await collection.updateMany({}, { $set: { description: 'CORRUPT' } });

    const result = await app.projections.rebuildTenant('namespaces', 't1');
    expect(result.completed).toBe(true);
    const after = await collection.find({}, { sort: { _id: 1 } });
    expect(after.filter((d) => d.tenantId === 't1')).toEqual(clean.filter((d) => d.tenantId === 't1'));
    expect(after.filter((d) => d.tenantId === 't2').every((d) => d.description === 'CORRUPT')).toBe(true);
    // The tenant checkpoint is gone once done, and the live projection still follows the log.
    expect(await documents.collection(CHECKPOINTS).countDocuments({ _id: { $regex: '@t1$' } })).toBe(0);
    await seed(events, 4, ['t1']);
    expect(await app.projections.waitFor(await events.headPosition(), 5000)).toBe(true);
    await app.stop();
  });
});

describe('upcasting', () => {
  it('a TenantCreated written with schema version 1 is read as version 2 by the aggregate and the projection', async () => {
    const events = new MemoryEventStore();
    const v1: NewEvent = {
      id: eventIdFor('legacy', 0),
      type: 'TenantCreated',
      schemaVersion: 1,
      data: { id: 'legacy', name: 'Legacy' },
      metadata: {
        tenantId: 'legacy',
        actor: { type: 'SYSTEM', id: 'old' },
        correlationId: 'c',
        commandId: 'legacy',
        occurredAt: '2025-01-01T00:00:00.000Z',
      },
    };
    await events.appendToStream('legacy/tenant', [v1], { expectedRevision: 'no_stream' });
    expect(upcasters.currentVersion('TenantCreated')).toBe(2);

    const { state } = await new CommandHandler(events, upcasters).load(tenantDecider, 'legacy/tenant');
    expect(state).toEqual({ status: 'active', id: 'legacy', name: 'Legacy', domains: [], requireExistingNamespace: false });

    const app = await open(events, new MemoryDocumentStore());
    const doc = await app.readModels.instanceCollection<TenantDocument>(TENANTS).findOne({ _id: 'legacy' });
    expect(doc).toMatchObject({ domains: [], requireExistingNamespace: false });
    // New events of the type are written with the current version.
    await new CommandHandler(events, upcasters).handle(tenantDecider, 'fresh/tenant', {
      type: 'CreateTenant',
      data: { id: 'fresh', name: 'Fresh' },
      metadata: {
        commandId: 'f',
        tenantId: 'fresh',
        actor: { type: 'SYSTEM', id: 't' },
        now: '2026-01-01T00:00:00.000Z',
        correlationId: 'c',
      },
    });
    expect((await events.readStream('fresh/tenant'))[0]?.schemaVersion).toBe(2);
    await app.stop();
  });

  it('every event type in the catalog, at every version up to its current one, has a path to the current shape', () => {
    for (const type of Object.keys(EVENT_CATALOG)) {
      const current = upcasters.currentVersion(type);
      for (let version = 1; version <= current; version++) {
        const event = { type, schemaVersion: version, data: {} } as RecordedEvent;
        expect(() => upcasters.upcast(event), `${type} v${version}`).not.toThrow();
        expect(upcasters.upcast(event).schemaVersion).toBe(current);
      }
    }
  });

  it('a missing step in a chain is reported, not skipped', () => {
    const registry = new UpcasterRegistry().register('X', 2, (d) => d);
    expect(() => registry.upcast({ type: 'X', schemaVersion: 1, data: {} } as RecordedEvent)).toThrow(
      /no upcaster for X from schema version 1/,
    );
  });
});
