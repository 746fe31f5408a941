/**
 * The ledger's store (every adapter: memory document store, SQLite file,
 * MongoDB when a server is available) and the ledger projection over a real
 * event store: the tree it keeps is the RFC 9162 tree of the events as
 * stored, replays change nothing, two writers never fork it.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { MemoryEventStore } from '../../src/eventstore/memory.js';
import type { NewEvent, RecordedEvent } from '../../src/eventstore/port.js';
import { SigningKey } from '../../src/ledger/checkpoint.js';
import { DocumentLedgerStore } from '../../src/ledger/document-store.js';
import { eventLeaf } from '../../src/ledger/leaf.js';
import { SqliteLedgerStore } from '../../src/ledger/sqlite-store.js';
import type { LedgerStore } from '../../src/ledger/store.js';
import { ledgerProjection } from '../../src/projections/ledger/ledger.projection.js';
import type { ProjectionTarget } from '../../src/projections/runtime/projection.js';
import { MemoryDocumentStore } from '../../src/readmodels/memory.js';
import { MongoDocumentStore } from '../../src/readmodels/mongodb.js';
import { Frontier, inclusionProof, treeRoot, verifyInclusion, type NodeSource } from '../../src/shared/merkle.js';
import { testDatabaseName, testMongoUri } from '../support/mongo.js';

type Factory = () => Promise<{ store: LedgerStore; cleanup: () => Promise<void> }>;

const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

const factories: [string, Factory][] = [
  [
    'memory document store',
    async () => {
      const documents = new MemoryDocumentStore();
      return { store: new DocumentLedgerStore(documents), cleanup: () => documents.close() };
    },
  ],
  [
    'sqlite file',
    async () => {
      const dir = mkdtempSync(path.join(tmpdir(), 'tenantry-ledger-'));
      dirs.push(dir);
      const store = new SqliteLedgerStore(path.join(dir, 'ledger.sqlite'));
      return { store, cleanup: () => store.close() };
    },
  ],
];
const uri = testMongoUri();
if (uri) {
  factories.push([
    'mongodb',
    async () => {
      const documents = await MongoDocumentStore.connect(uri, testDatabaseName('ledger'));
      return {
        store: new DocumentLedgerStore(documents),
        cleanup: async () => {
          await documents.dropDatabase();
          await documents.close();
        },
      };
    },
  ]);
}

const event = (tenant: string, n: number): NewEvent => ({
  id: randomUUID(),
  type: 'NamespaceUpdated',
  schemaVersion: 1,
  data: { id: 'x', changes: { description: { before: `d${n - 1}`, after: `d${n}` } }, '10': 'ten', '9': 'nine' },
  metadata: {
    tenantId: tenant,
    namespace: 'x',
    actor: { type: 'USER', id: 'alice' },
    correlationId: `c${n}`,
    commandId: `c${n}`,
    occurredAt: new Date(Date.UTC(2026, 0, 1, 0, 0, n)).toISOString(),
  },
});

/** Events interleaved across two tenants in one log. */
async function log(count: number): Promise<{ events: MemoryEventStore; all: RecordedEvent[] }> {
  const events = new MemoryEventStore();
  for (let n = 0; n < count; n++) {
    const tenant = n % 3 === 0 ? 'beta' : 'acme';
    await events.appendToStream(`${tenant}/namespace/x`, [event(tenant, n)], { expectedRevision: 'any' });
  }
  return { events, all: await events.readAll({ maxCount: 100_000 }) };
}

const noTarget = {} as ProjectionTarget;

for (const [name, factory] of factories) {
  describe(`ledger store and projection: ${name}`, () => {
    it('keeps the RFC 9162 tree of each tenant’s events as stored; proofs from it verify', async () => {
      const { store, cleanup } = await factory();
      try {
        const { all } = await log(130);
        const projection = ledgerProjection(store);
        // In three batches, as the runtime would deliver them.
        await projection.apply(all.slice(0, 40), noTarget);
        await projection.apply(all.slice(40, 41), noTarget);
        await projection.apply(all.slice(41), noTarget);

        const acme = all.filter((e) => e.streamName.startsWith('acme/'));
        const expected = new Frontier();
        for (const e of acme) expected.append(eventLeaf(e));
        const head = await store.head('acme');
        expect(head).toMatchObject({ size: acme.length, position: acme.at(-1)?.position });
        expect(new Frontier(head!.size, head!.frontier).root().equals(expected.root())).toBe(true);
        expect(await store.tenants()).toEqual(['acme', 'beta']);

        const nodes: NodeSource = async (level, index) => {
          const hash = await store.node('acme', level, index);
          if (!hash) throw new Error(`missing node ${level}/${index}`);
          return hash;
        };
        expect((await treeRoot(nodes, acme.length)).equals(expected.root())).toBe(true);
        const proof = await inclusionProof(nodes, 17, acme.length);
        expect(verifyInclusion(17, acme.length, eventLeaf(acme[17]!), proof, expected.root())).toBe(true);
        expect(await store.leafAt('acme', acme[17]!.position)).toMatchObject({ index: 17, position: acme[17]!.position });
        expect((await store.leaves('acme', 10, 5)).map((l) => l.index)).toEqual([10, 11, 12, 13, 14]);
      } finally {
        await cleanup();
      }
    });

    it('replays change nothing, and a writer whose head moved under it starts again from the new head', async () => {
      const { store, cleanup } = await factory();
      try {
        const { all } = await log(60);
        await ledgerProjection(store).apply(all, noTarget);
        const before = await store.head('acme');
        await ledgerProjection(store).apply(all, noTarget);
        await ledgerProjection(store).apply(all.slice(10, 30), noTarget);
        expect(await store.head('acme')).toEqual(before);
        // A stale writer: its compare-and-set fails, nothing of its append counts.
        expect(await store.append({ ...before!, size: 1, position: 1, frontier: [] }, 0, [], [])).toBe(false);
        expect(await store.head('acme')).toEqual(before);
      } finally {
        await cleanup();
      }
    });

    it('stores and lists signed checkpoints, oldest first', async () => {
      const { store, cleanup } = await factory();
      try {
        const key = SigningKey.generate();
        for (const size of [3, 10, 7]) {
          await store.saveCheckpoint(
            key.sign({ tenantId: 'acme', size, rootHash: 'ab'.repeat(32), signedAt: `2026-01-01T00:00:0${size % 10}.000Z` }),
          );
        }
        await store.saveCheckpoint(
          key.sign({ tenantId: 'beta', size: 99, rootHash: 'cd'.repeat(32), signedAt: '2026-01-02T00:00:00.000Z' }),
        );
        expect((await store.checkpoints('acme')).map((c) => c.size)).toEqual([3, 7, 10]);
        expect((await store.checkpoints('acme', { afterSize: 3, limit: 1 })).map((c) => c.size)).toEqual([7]);
        expect((await store.latestCheckpoint('acme'))?.size).toBe(10);
        expect(await store.latestCheckpoint('nobody')).toBeNull();
      } finally {
        await cleanup();
      }
    });
  });
}

describe.each(factories)('checkpoint pages (%s)', (_name, factory) => {
  it('pages by size then signing time, both ways, with checkpoints of the same size across a page end; counts them', async () => {
    const { store, cleanup } = await factory();
    try {
      const key = SigningKey.generate();
      const sizes = [1, 2, 3, 3, 3, 4, 7];
      for (const [i, size] of sizes.entries()) {
        await store.saveCheckpoint(
          key.sign({ tenantId: 'acme', size, rootHash: 'ab'.repeat(32), signedAt: new Date(Date.UTC(2026, 0, 1, 0, 0, i)).toISOString() }),
        );
      }
      await store.saveCheckpoint(key.sign({ tenantId: 'other', size: 1, rootHash: 'cd'.repeat(32), signedAt: new Date().toISOString() }));
      const keyOf = (c: { size: number; signedAt: string }) => ({ size: c.size, signedAt: c.signedAt });
      const forwards: string[] = [];
      for (let cursor: { size: number; signedAt: string } | null = null; ;) {
        const page = await store.checkpointPage('acme', { backward: false, cursor, limit: 3 });
        forwards.push(...page.map((c) => `${c.size}@${c.signedAt.slice(17, 19)}`));
        if (page.length < 3) break;
        cursor = keyOf(page.at(-1)!);
      }
      expect(forwards).toEqual(['1@00', '2@01', '3@02', '3@03', '3@04', '4@05', '7@06']);
      const backwards: string[] = [];
      for (let cursor: { size: number; signedAt: string } | null = null; ;) {
        const page = await store.checkpointPage('acme', { backward: true, cursor, limit: 2 });
        backwards.push(...page.map((c) => `${c.size}@${c.signedAt.slice(17, 19)}`));
        if (page.length < 2) break;
        cursor = keyOf(page.at(-1)!);
      }
      expect(backwards).toEqual([...forwards].reverse());
      expect(await store.checkpointPage('acme', { backward: false, cursor: null, limit: 0 })).toEqual([]);
      expect(await store.countCheckpoints('acme')).toBe(7);
      expect(await store.countCheckpoints('nobody')).toBe(0);
    } finally {
      await cleanup();
    }
  });
});
