/**
 * Runs the EventStore contract against every adapter, plus what only SQLite
 * promises: durability across reopen, and several processes sharing a file.
 * KurrentDB runs only when TENANTRY_KURRENTDB_URL points at a server.
 */
import Database from 'better-sqlite3';
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { KurrentDbEventStore } from '../../src/eventstore/kurrentdb.js';
import { MemoryEventStore } from '../../src/eventstore/memory.js';
import type { EventStore, NewEvent, RecordedEvent } from '../../src/eventstore/port.js';
import { SqliteEventStore, prefixUpperBound } from '../../src/eventstore/sqlite.js';
import { describeEventStoreContract } from '../contract/eventstore.contract.js';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const tempRoot = mkdtempSync(join(tmpdir(), 'tenantry-eventstore-'));
afterAll(() => rmSync(tempRoot, { recursive: true, force: true }));

function tempDbFile(): string {
  return join(tempRoot, `events-${randomUUID()}.db`);
}

function removeDbFiles(file: string): void {
  for (const suffix of ['', '-wal', '-shm', '-journal']) rmSync(`${file}${suffix}`, { force: true });
}

describeEventStoreContract('memory', async () => {
  const store = new MemoryEventStore();
  return { store, cleanup: () => store.close() };
});

describeEventStoreContract('sqlite', async () => {
  const file = tempDbFile();
  const store = new SqliteEventStore(file);
  return {
    store,
    cleanup: async () => {
      await store.close();
      removeDbFiles(file);
    },
  };
});

const kurrentUrl = process.env.TENANTRY_KURRENTDB_URL;
if (kurrentUrl) {
  describeEventStoreContract(
    'kurrentdb',
    async () => {
      const store = new KurrentDbEventStore(kurrentUrl);
      return { store, cleanup: () => store.close() };
    },
    { uniqueEventIds: false },
  );
} else {
  console.log('[eventstore] KurrentDB contract suite SKIPPED: set TENANTRY_KURRENTDB_URL to run it');
  describe.skip('EventStore contract: kurrentdb (SKIPPED: set TENANTRY_KURRENTDB_URL to run it)', () => {
    it('runs the EventStore contract against a KurrentDB server', () => {});
  });
}

// ---------------------------------------------------------------------------
// SQLite only
// ---------------------------------------------------------------------------

function newEvent(n: number): NewEvent {
  const commandId = randomUUID();
  return {
    id: randomUUID(),
    type: 'ThingHappened',
    schemaVersion: 1,
    data: { n },
    metadata: {
      tenantId: 'acme',
      actor: { type: 'SYSTEM', id: 'test' },
      correlationId: commandId,
      commandId,
      occurredAt: '2024-05-01T12:00:00.000Z',
    },
  };
}

function collect(store: EventStore, after: number, streamPrefix?: string) {
  const subscription = store.subscribeToAll({ after, streamPrefix });
  const events: RecordedEvent[] = [];
  const done = (async () => {
    for await (const batch of subscription) events.push(...batch);
  })();
  return { subscription, events, done };
}

describe('SqliteEventStore (sqlite only)', () => {
  const open: SqliteEventStore[] = [];
  const files: string[] = [];
  function openStore(file: string, options?: ConstructorParameters<typeof SqliteEventStore>[1]): SqliteEventStore {
    const store = new SqliteEventStore(file, options);
    open.push(store);
    return store;
  }
  function newFile(): string {
    const file = tempDbFile();
    files.push(file);
    return file;
  }

  afterEach(async () => {
    await Promise.all(open.splice(0).map((s) => s.close()));
    for (const file of files.splice(0)) removeDbFiles(file);
  });

  it('is durable across close and reopen; positions continue and are never reused', async () => {
    const file = newFile();
    const first = openStore(file);
    await first.appendToStream('acme/a/1', [newEvent(1), newEvent(2)], { expectedRevision: 'no_stream' });
    await first.appendToStream('acme/b/1', [newEvent(3)], { expectedRevision: 'no_stream' });
    const before = await first.readAll();
    await first.close();

    const reopened = openStore(file);
    expect(await reopened.readAll()).toEqual(before);
    expect(await reopened.headPosition()).toBe(before.at(-1)?.position);
    expect((await reopened.readStream('acme/a/1')).map((e) => e.streamRevision)).toEqual([0, 1]);
    const next = await reopened.appendToStream('acme/a/1', [newEvent(4)], { expectedRevision: 1 });
    expect(next.nextExpectedRevision).toBe(2);
    expect(next.position).toBe((before.at(-1)?.position ?? 0) + 1);

    const { subscription, events, done } = collect(reopened, 0);
    await vi.waitFor(() => expect(events).toHaveLength(4));
    await subscription.close();
    await done;
  });

  it('uses WAL, synchronous FULL by default (NORMAL on request), a busy timeout, and the expected schema', async () => {
    const file = newFile();
    const durable = openStore(file);
    expect(durable.settings()).toEqual({ journalMode: 'wal', synchronous: 'FULL', busyTimeoutMs: 5000, walAutocheckpoint: 1000 });
    const relaxed = openStore(file, { synchronous: 'NORMAL', busyTimeoutMs: 250 });
    expect(relaxed.settings()).toMatchObject({ synchronous: 'NORMAL', busyTimeoutMs: 250 });

    const raw = new Database(file, { readonly: true });
    try {
      expect(raw.pragma('journal_mode', { simple: true })).toBe('wal');
      const columns = (raw.pragma('table_info(events)') as { name: string }[]).map((c) => c.name);
      expect(columns).toEqual(['position', 'event_id', 'stream', 'revision', 'type', 'schema_version', 'data', 'metadata']);
      const indexes = raw.pragma('index_list(events)') as { name: string; unique: number }[];
      expect(indexes.filter((i) => i.unique === 1)).toHaveLength(2); // event_id, (stream, revision)
      expect(indexes.map((i) => i.name)).toEqual(expect.arrayContaining(['events_stream_position', 'events_tenant_position']));
    } finally {
      raw.close();
    }
  });

  it('prefix reads give the same answer on every query plan (tenant index, log walk, stream index)', async () => {
    const store = openStore(newFile(), { synchronous: 'NORMAL' });
    const streams = ['acme/flow/1', 'acme/flow😀/2', 'acme-corp/flow/1', 'acme/flows/3', 'beta/flow/1', 'acme'];
    // More than 10 000 events, so that reads from far behind use the stream index.
    const revisions = new Map<string, number>();
    for (let batch = 0; batch < 21; batch++) {
      for (const [i, s] of streams.entries()) {
        const count = i === 0 ? 500 : 17;
        const events = Array.from({ length: count }, (_, n) => newEvent(n));
        const expectedRevision = revisions.get(s) ?? 'no_stream';
        revisions.set(s, (await store.appendToStream(s, events, { expectedRevision })).nextExpectedRevision);
      }
    }
    const everything = await store.readAll({ maxCount: 100_000 });
    expect(everything.length).toBeGreaterThan(10_000);
    for (const prefix of ['acme/', 'acme/flow', 'acme/flow/', 'acme', 'acme-corp/', 'beta/flow/1', 'zzz/']) {
      const expected = everything.filter((e) => e.streamName.startsWith(prefix));
      for (const after of [0, 5000, (everything.at(-1)?.position ?? 0) - 300]) {
        const expectedAfter = expected.filter((e) => e.position > after);
        const paged: RecordedEvent[] = [];
        let from = after;
        for (;;) {
          const page = await store.readAll({ after: from, maxCount: 4000, streamPrefix: prefix });
          if (page.length === 0) break;
          paged.push(...page);
          from = page.at(-1)?.position ?? from;
        }
        expect(
          paged.map((e) => e.position),
          `prefix ${prefix} after ${after}`,
        ).toEqual(expectedAfter.map((e) => e.position));
      }
    }
  }, 60_000);

  it('computes exact upper bounds for prefix range scans', () => {
    expect(prefixUpperBound('acme/')).toBe('acme0');
    expect(prefixUpperBound('a\uffff')).toBe('a\u{10000}');
    expect(prefixUpperBound('a\u{10ffff}')).toBe('b');
    expect(prefixUpperBound('a\ud7ff')).toBe('a\ue000');
    expect(prefixUpperBound('\u{10ffff}')).toBeUndefined();
  });

  it('a second instance on the same file sees the first one’s appends in its subscription (polling)', async () => {
    const file = newFile();
    // The writer never polls: what its own subscription gets comes from the in-process notification.
    const writer = openStore(file, { pollIntervalMs: 60_000 });
    const reader = openStore(file, { pollIntervalMs: 50 });
    await writer.appendToStream('acme/a/1', [newEvent(1)], { expectedRevision: 'no_stream' });

    const remote = collect(reader, 0, 'acme/');
    const local = collect(writer, 0, 'acme/');
    await vi.waitFor(() => expect(remote.events).toHaveLength(1), { timeout: 2000 });

    await writer.appendToStream('acme/a/1', [newEvent(2), newEvent(3)], { expectedRevision: 0 });
    await vi.waitFor(() => expect(remote.events).toHaveLength(3), { timeout: 2000 });
    await vi.waitFor(() => expect(local.events).toHaveLength(3), { timeout: 2000 });
    expect(remote.events).toEqual(local.events);

    await reader.close();
    await remote.done;
  });

  it('tail reads served from the cache never hide another connection’s commits, for readers at any position', async () => {
    const file = newFile();
    const a = openStore(file, { pollIntervalMs: 60_000 });
    const b = openStore(file, { pollIntervalMs: 60_000 });
    const positions = async (store: SqliteEventStore, after: number, streamPrefix = '') =>
      (await store.readAll({ after, maxCount: 100, streamPrefix })).map((e) => e.position);

    await a.appendToStream('acme/a/1', [newEvent(1)], { expectedRevision: 'no_stream' }); // 1, by a
    expect(await positions(a, 1)).toEqual([]); // a's shortcut: nothing beyond its own head
    await b.appendToStream('acme/b/1', [newEvent(2), newEvent(3)], { expectedRevision: 'no_stream' }); // 2, 3 by b
    await a.appendToStream('acme/a/1', [newEvent(4)], { expectedRevision: 0 }); // 4 by a: cached, but 2 and 3 are not
    // A reader that has seen 1 must get b's events although a's cache ends at its own head.
    expect(await positions(a, 1)).toEqual([2, 3, 4]);
    // Another reader still behind, after the first one's read moved the version on.
    expect(await positions(a, 0)).toEqual([1, 2, 3, 4]);
    expect(await positions(a, 4)).toEqual([]);
    await b.appendToStream('acme/b/1', [newEvent(5)], { expectedRevision: 1 }); // 5 by b
    expect(await positions(a, 4, 'acme/')).toEqual([5]);
    expect(await positions(a, 3)).toEqual([4, 5]);
    expect(await positions(a, 5)).toEqual([]);
    // And the other way round.
    expect(await positions(b, 0)).toEqual([1, 2, 3, 4, 5]);
    await a.appendToStream('acme/a/1', [newEvent(6)], { expectedRevision: 1 });
    expect(await positions(b, 5)).toEqual([6]);
  });

  it('several processes append to the same stream safely (IMMEDIATE transactions, busy timeout)', async () => {
    const file = newFile();
    const parent = openStore(file, { pollIntervalMs: 20 });
    const stream = 'acme/shared/1';
    const perProcess = 60;
    const watcher = collect(parent, 0, 'acme/');

    // The child appends with the same optimistic loop as the parent: read the
    // revision, append at it, and on a conflict retry from the actual revision.
    const childCode = `
      import { SqliteEventStore } from ${JSON.stringify(pathToFileURL(join(repoRoot, 'src/eventstore/sqlite.ts')).href)};
      import { randomUUID } from 'node:crypto';
      const store = new SqliteEventStore(process.env.DB_FILE);
      const stream = ${JSON.stringify(stream)};
      process.stdout.write('ready\\n');
      await new Promise((resolve) => process.stdin.once('data', resolve));
      let revision = -1;
      let conflicts = 0;
      for (let i = 0; i < ${perProcess}; i++) {
        for (;;) {
          const event = { id: randomUUID(), type: 'FromChild', schemaVersion: 1, data: { i },
            metadata: { tenantId: 'acme', actor: { type: 'SYSTEM', id: 'child' }, correlationId: 'c', commandId: randomUUID(), occurredAt: '2024-01-01T00:00:00Z' } };
          try {
            revision = (await store.appendToStream(stream, [event], { expectedRevision: revision < 0 ? 'no_stream' : revision })).nextExpectedRevision;
            break;
          } catch (error) {
            if (error.name !== 'WrongExpectedRevisionError') throw error;
            conflicts++;
            revision = error.actual;
          }
          await new Promise((resolve) => setImmediate(resolve));
        }
        await new Promise((resolve) => setTimeout(resolve, 1));
      }
      await store.close();
      process.stdout.write('done ' + conflicts + '\\n');
    `;
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', childCode], {
      cwd: repoRoot,
      env: { ...process.env, DB_FILE: file },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<number | null>((resolveExit) => child.on('exit', (code) => resolveExit(code)));
    await vi.waitFor(() => expect(stdout, stderr).toContain('ready'), { timeout: 20_000, interval: 20 });
    child.stdin.end('go\n'); // EOF too, so the child's stdin does not keep it alive

    let revision = -1;
    for (let i = 0; i < perProcess; i++) {
      if (i === perProcess / 2) {
        // Halfway, wait for the child to have written: the writes must interleave.
        await vi.waitFor(async () => expect((await parent.readStream(stream)).some((e) => e.type === 'FromChild')).toBe(true), {
          timeout: 20_000,
          interval: 5,
        });
      }
      for (;;) {
        try {
          const expectedRevision = revision < 0 ? ('no_stream' as const) : revision;
          revision = (await parent.appendToStream(stream, [newEvent(i)], { expectedRevision })).nextExpectedRevision;
          break;
        } catch (error) {
          if (!(error instanceof Error) || error.name !== 'WrongExpectedRevisionError') throw error;
          revision = (error as unknown as { actual: number }).actual;
        }
        await new Promise((r) => setImmediate(r));
      }
      await new Promise((r) => setTimeout(r, 1));
    }

    expect(await exited, stderr).toBe(0);
    const events = await parent.readStream(stream);
    expect(events.map((e) => e.streamRevision)).toEqual(Array.from({ length: 2 * perProcess }, (_, i) => i));
    expect(events.filter((e) => e.type === 'FromChild')).toHaveLength(perProcess);
    // The two writers really interleaved (see the halfway wait above).
    expect(events.filter((e, i) => i > 0 && e.type !== events[i - 1]?.type).length).toBeGreaterThanOrEqual(2);
    const all = await parent.readAll({ maxCount: 10_000 });
    expect(all.map((e) => e.position)).toEqual(Array.from({ length: 2 * perProcess }, (_, i) => i + 1));
    // The parent's subscription saw the child's appends too (polling), in order.
    await vi.waitFor(() => expect(watcher.events).toHaveLength(2 * perProcess), { timeout: 5000 });
    expect(watcher.events.map((e) => e.id)).toEqual(all.map((e) => e.id));
  }, 60_000);
});
