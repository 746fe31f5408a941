/**
 * The audit projection is append-only, hash-chained per tenant and
 * idempotent across replays and crashes, on every DocumentStore adapter:
 * memory always, MongoDB when a server is available.
 */
import { afterAll, describe, expect, it } from 'vitest';
import type { CommandMetadata } from '../../src/aggregates/decider.js';
import { namespaceDecider } from '../../src/aggregates/namespace/namespace.js';
import { tenantDecider } from '../../src/aggregates/tenant/tenant.js';
import { userDecider } from '../../src/aggregates/user/user.js';
import { entriesFromLog, verifyAuditChain } from '../../src/application/audit-verify.js';
import { CommandHandler } from '../../src/commands/handler.js';
import { MemoryEventStore } from '../../src/eventstore/memory.js';
import type { RecordedEvent } from '../../src/eventstore/port.js';
import { UpcasterRegistry } from '../../src/events/upcasting.js';
import type { AuditEntryDocument, ChainHeadDocument } from '../../src/projections/audit/audit-entry.js';
import { AUDIT_CHAIN_HEADS, AUDIT_LOGS, auditProjection } from '../../src/projections/audit/audit.projection.js';
import type { ProjectionTarget } from '../../src/projections/runtime/projection.js';
import { ProjectionRunner } from '../../src/projections/runtime/runner.js';
import { MemoryDocumentStore } from '../../src/readmodels/memory.js';
import { MongoDocumentStore } from '../../src/readmodels/mongodb.js';
import type { Collection, Document, DocumentStore } from '../../src/readmodels/port.js';
import { silentLogger } from '../../src/shared/logger.js';
import { testDatabaseName, testMongoUri } from '../support/mongo.js';

let n = 0;
const meta = (tenantId: string): CommandMetadata => ({
  commandId: `cmd-${++n}`,
  tenantId,
  actor: { type: 'USER', id: tenantId === 'beta' ? 'bob' : 'alice' },
  now: new Date(Date.UTC(2026, 0, 1, 0, 0, n)).toISOString(),
  correlationId: `corr-${n}`,
  ip: '127.0.0.1',
  userAgent: 'vitest',
});

/** Two tenants written in turns, plus an instance-level user: chains must follow the log order per tenant. */
async function seed(): Promise<{ events: MemoryEventStore; batch: RecordedEvent[] }> {
  const events = new MemoryEventStore();
  const handler = new CommandHandler(events, new UpcasterRegistry());
  for (const tenant of ['acme', 'beta']) {
    await handler.handle(tenantDecider, `${tenant}/tenant`, {
      type: 'CreateTenant',
      data: { id: tenant, name: tenant },
      metadata: meta(tenant),
    });
  }
  await handler.handle(userDecider, '_instance/user/carol', {
    type: 'CreateUser',
    data: { id: 'carol', email: 'c@example.com', name: null, instanceAdmin: false },
    metadata: meta('_instance'),
  });
  for (let i = 0; i < 6; i++) {
    const tenant = i % 2 === 0 ? 'acme' : 'beta';
    const id = `ns${i}`;
    await handler.handle(namespaceDecider, `${tenant}/namespace/${id}`, { type: 'CreateNamespace', data: { id }, metadata: meta(tenant) });
    await handler.handle(namespaceDecider, `${tenant}/namespace/${id}`, {
      type: 'UpdateNamespace',
      data: { id, patch: { variables: { i, 'dotted.key': true } } },
      metadata: meta(tenant),
    });
  }
  const batch = (await events.readAll({ maxCount: 10_000 })).filter((e) => auditProjection.eventTypes.has(e.type));
  return { events, batch };
}

/** Wraps one collection of the target so that its next bulkWrite misbehaves (a simulated crash). */
function crashing(
  inner: ProjectionTarget,
  name: string,
  crash: (c: Collection, ops: Parameters<Collection['bulkWrite']>[0]) => Promise<never>,
): ProjectionTarget {
  let crashed = false;
  return {
    store: inner.store,
    collection<T extends Document = Document>(logical: string): Collection<T> {
      const real = inner.collection<T>(logical);
      if (logical !== name) return real;
      return new Proxy(real, {
        get(target, prop, receiver) {
          if (prop === 'bulkWrite' && !crashed) {
            crashed = true;
            return (ops: Parameters<Collection['bulkWrite']>[0]) => crash(real, ops);
          }
          const value = Reflect.get(target, prop, receiver) as unknown;
          return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
        },
      });
    },
  };
}

async function dump(target: ProjectionTarget): Promise<{ entries: AuditEntryDocument[]; heads: ChainHeadDocument[] }> {
  return {
    entries: await target.collection<AuditEntryDocument>(AUDIT_LOGS).find({}, { sort: { position: 1 } }),
    heads: await target.collection<ChainHeadDocument>(AUDIT_CHAIN_HEADS).find({}, { sort: { _id: 1 } }),
  };
}

type StoreFactory = () => Promise<DocumentStore>;

const factories: [string, StoreFactory][] = [['memory', () => Promise.resolve(new MemoryDocumentStore())]];
const uri = testMongoUri();
const databases: string[] = [];
if (uri) {
  factories.push([
    'mongodb',
    async () => {
      const name = testDatabaseName('audit');
      databases.push(name);
      return MongoDocumentStore.connect(uri, name);
    },
  ]);
}

afterAll(async () => {
  if (!uri) return;
  for (const name of databases) {
    const store = await MongoDocumentStore.connect(uri, name);
    await store.dropDatabase().catch(() => undefined);
    await store.close();
  }
});

describe.each(factories)('audit projection (%s)', (_label, open) => {
  const withTarget = async <R>(
    work: (target: ProjectionRunner, events: MemoryEventStore, batch: RecordedEvent[]) => Promise<R>,
  ): Promise<R> => {
    const { events, batch } = await seed();
    const store = await open();
    try {
      const runner = new ProjectionRunner(events, store, auditProjection, new UpcasterRegistry(), silentLogger());
      await runner.prepare();
      return await work(runner, events, batch);
    } finally {
      await store.close();
    }
  };

  const reference = async (batch: RecordedEvent[]) => {
    const store = new MemoryDocumentStore();
    const runner = new ProjectionRunner(new MemoryEventStore(), store, auditProjection, new UpcasterRegistry(), silentLogger());
    await auditProjection.apply(batch, runner);
    return dump(runner);
  };

  it('writes one entry per event, chained per tenant in log order, with heads at the last entry', async () => {
    await withTarget(async (target, _events, batch) => {
      await auditProjection.apply(batch, target);
      const { entries, heads } = await dump(target);
      expect(entries.map((e) => e._id)).toEqual(batch.map((e) => e.id));
      for (const tenant of ['acme', 'beta', '_instance']) {
        const chain = entries.filter((e) => e.tenantId === tenant);
        expect(chain.length).toBeGreaterThan(0);
        expect(chain[0]?.previousHash).toBeNull();
        for (let i = 1; i < chain.length; i++) expect(chain[i]?.previousHash).toBe(chain[i - 1]?.hash);
        const head = heads.find((h) => h._id === tenant);
        expect(head).toMatchObject({ hash: chain.at(-1)?.hash, position: chain.at(-1)?.position });
      }
      expect(entries.find((e) => e.eventType === 'UserCreated')).toMatchObject({ tenantId: '_instance', resourceId: 'carol' });
    });
  });

  it('applying the same batch twice, or in other batch sizes, gives the same result', async () => {
    await withTarget(async (target, _events, batch) => {
      const expected = await reference(batch);
      await auditProjection.apply(batch, target);
      await auditProjection.apply(batch, target);
      expect(await dump(target)).toEqual(expected);
    });
    await withTarget(async (target, _events, batch) => {
      for (let i = 0; i < batch.length; i += 4) await auditProjection.apply(batch.slice(i, i + 4), target);
      await auditProjection.apply(batch.slice(3, 9), target); // an overlapping re-delivery
      expect(await dump(target)).toEqual(await reference(batch));
    });
  });

  it('a crash between writing the entries and moving the heads: the replay writes the same entries and hashes', async () => {
    await withTarget(async (target, _events, batch) => {
      const expected = await reference(batch);
      const half = Math.floor(batch.length / 2);
      await auditProjection.apply(batch.slice(0, half), target);
      const crash = crashing(target, AUDIT_CHAIN_HEADS, () => Promise.reject(new Error('crash before the heads')));
      await expect(auditProjection.apply(batch.slice(half), crash)).rejects.toThrow('crash before the heads');
      expect((await dump(target)).entries).toHaveLength(batch.length);
      await auditProjection.apply(batch.slice(half), target);
      expect(await dump(target)).toEqual(expected);
    });
  });

  it('a crash in the middle of writing the entries: the replay completes them identically', async () => {
    await withTarget(async (target, _events, batch) => {
      const expected = await reference(batch);
      const crash = crashing(target, AUDIT_LOGS, async (real, ops) => {
        await real.bulkWrite(ops.slice(0, 5), { ordered: false });
        throw new Error('crash after five entries');
      });
      await expect(auditProjection.apply(batch, crash)).rejects.toThrow('crash after five entries');
      expect((await dump(target)).entries).toHaveLength(5);
      await auditProjection.apply(batch, target);
      expect(await dump(target)).toEqual(expected);
    });
  });

  it('the entries recomputed from the event log match the stored chain', async () => {
    await withTarget(async (target, events, batch) => {
      await auditProjection.apply(batch, target);
      const upTo = await events.headPosition();
      for (const tenant of ['acme', 'beta', '_instance']) {
        const head = await target.collection<ChainHeadDocument>(AUDIT_CHAIN_HEADS).findOne({ _id: tenant });
        const result = await verifyAuditChain({
          tenantId: tenant,
          stored: target.collection<AuditEntryDocument>(AUDIT_LOGS).stream({ tenantId: tenant }, { sort: { position: 1 } }),
          expected: entriesFromLog(events, new UpcasterRegistry(), tenant, upTo, undefined, 3),
          head: head ? { hash: head.hash, position: head.position } : null,
          upTo,
        });
        expect(result).toMatchObject({ ok: true, firstBrokenEntryId: null, lastHash: head?.hash });
        expect(result.checkedEntries).toBe(batch.filter((e) => e.streamName.startsWith(`${tenant}/`)).length);
      }
    });
  });
});
