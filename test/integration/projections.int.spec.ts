import { describe, expect, it } from 'vitest';
import { namespaceDecider } from '../../src/aggregates/namespace/namespace.js';
import { tenantDecider } from '../../src/aggregates/tenant/tenant.js';
import type { CommandMetadata } from '../../src/aggregates/decider.js';
import { CommandHandler } from '../../src/commands/handler.js';
import { MemoryEventStore } from '../../src/eventstore/memory.js';
import { UpcasterRegistry } from '../../src/events/upcasting.js';
import { allProjections } from '../../src/projections/index.js';
import { Projections } from '../../src/projections/runtime/coordinator.js';
import { ALIASES } from '../../src/projections/runtime/aliases.js';
import { CHECKPOINTS, ProjectionRunner } from '../../src/projections/runtime/runner.js';
import { MemoryDocumentStore } from '../../src/readmodels/memory.js';
import type { DocumentStore } from '../../src/readmodels/port.js';
import { silentLogger } from '../../src/shared/logger.js';

let n = 0;
const meta = (tenantId = 'acme'): CommandMetadata => ({
  commandId: `cmd-${++n}`,
  tenantId,
  actor: { type: 'USER', id: 'alice' },
  now: new Date(Date.UTC(2026, 0, 1, 0, 0, n)).toISOString(),
  correlationId: 'c',
});

async function seed(store: MemoryEventStore): Promise<void> {
  const handler = new CommandHandler(store, new UpcasterRegistry());
  await handler.handle(tenantDecider, 'acme/tenant', { type: 'CreateTenant', data: { id: 'acme', name: 'Acme' }, metadata: meta() });
  for (const id of ['company', 'company.team', 'marketing']) {
    await handler.handle(namespaceDecider, `acme/namespace/${id}`, { type: 'CreateNamespace', data: { id }, metadata: meta() });
  }
  for (let i = 0; i < 5; i++) {
    await handler.handle(namespaceDecider, 'acme/namespace/company', {
      type: 'UpdateNamespace',
      data: { id: 'company', patch: { variables: { i } } },
      metadata: meta(),
    });
  }
  await handler.handle(namespaceDecider, 'acme/namespace/marketing', {
    type: 'DeleteNamespace',
    data: { id: 'marketing' },
    metadata: meta(),
  });
}

async function dump(documents: DocumentStore): Promise<Record<string, unknown[]>> {
  const out: Record<string, unknown[]> = {};
  for (const name of (await documents.listCollections()).sort()) {
    if (name === CHECKPOINTS || name === ALIASES) continue;
    out[name] = await documents.collection(name).find({}, { sort: { _id: 1 } });
  }
  return out;
}

async function catchUp(events: MemoryEventStore, documents: DocumentStore): Promise<Projections> {
  const projections = new Projections(events, documents, allProjections(), new UpcasterRegistry(), silentLogger());
  await projections.start();
  expect(await projections.waitFor(await events.headPosition(), 5000)).toBe(true);
  await projections.stop();
  return projections;
}

describe('projections are effectively-once (real memory stores)', () => {
  it('applying the same batch twice changes nothing the second time', async () => {
    const events = new MemoryEventStore();
    await seed(events);
    const documents = new MemoryDocumentStore();
    const batch = await events.readAll({ maxCount: 1000 });
    for (const projection of allProjections()) {
      const runner = new ProjectionRunner(events, documents, projection, new UpcasterRegistry(), silentLogger());
      const relevant = batch.filter((e) => projection.eventTypes.has(e.type));
      await projection.apply(relevant, runner);
    }
    const once = await dump(documents);
    for (const projection of allProjections()) {
      const runner = new ProjectionRunner(events, documents, projection, new UpcasterRegistry(), silentLogger());
      await projection.apply(
        batch.filter((e) => projection.eventTypes.has(e.type)),
        runner,
      );
    }
    expect(await dump(documents)).toEqual(once);
    const namespaces = once['namespaces_v1'] as { id: string; variablesJson: string }[];
    expect(namespaces.map((d) => d.id)).toEqual(['company', 'company.team']);
    expect(namespaces[0]?.variablesJson).toBe('{"i":4}');
  });

  it('a crash between writing a batch and its checkpoint re-applies nothing twice', async () => {
    const events = new MemoryEventStore();
    await seed(events);
    const clean = new MemoryDocumentStore();
    await catchUp(events, clean);
    const expected = await dump(clean);

    // The writes landed but every checkpoint was lost: the runner starts from 0 again.
    const crashed = new MemoryDocumentStore();
    await catchUp(events, crashed);
    await crashed.collection(CHECKPOINTS).updateMany({}, { $set: { position: 0 } });
    await catchUp(events, crashed);
    expect(await dump(crashed)).toEqual(expected);

    // Half the log applied, checkpoint at half, then restart from a checkpoint behind the writes.
    const half = new MemoryDocumentStore();
    await catchUp(events, half);
    await half.collection(CHECKPOINTS).updateMany({}, { $set: { position: 3 } });
    await catchUp(events, half);
    expect(await dump(half)).toEqual(expected);
  });

  it('checkpoints are per projection and compare-and-set', async () => {
    const events = new MemoryEventStore();
    await seed(events);
    const documents = new MemoryDocumentStore();
    await catchUp(events, documents);
    const checkpoints = await documents.collection<{ _id: string; position: number }>(CHECKPOINTS).find({}, { sort: { _id: 1 } });
    expect(checkpoints.map((c) => c._id)).toEqual(
      allProjections()
        .map((p) => `${p.name}_v${p.version}`)
        .sort(),
    );
    for (const checkpoint of checkpoints) expect(checkpoint.position).toBe(await events.headPosition());
    // A writer that read a stale checkpoint cannot move it: the compare-and-set misses.
    const result = await documents.collection(CHECKPOINTS).updateOne({ _id: 'namespaces_v1', position: 1 }, { $set: { position: 999 } });
    expect(result.matchedCount).toBe(0);
  });
});
