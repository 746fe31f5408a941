import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { namespaceDecider } from '../../src/aggregates/namespace/namespace.js';
import { CommandHandler } from '../../src/commands/handler.js';
import { upcasters } from '../../src/events/upcasting.js';
import { errorCode, expectData, startTestGateway, type GqlResult, type TestGateway } from '../support/gateway.js';

describe('the event store unavailable: another process holds the SQLite write lock', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startTestGateway({ env: { TENANTRY_SQLITE_BUSY_TIMEOUT_MS: '300' } });
  });
  afterAll(async () => {
    await gw.dispose();
  });

  it('mutations fail fast with SERVICE_UNAVAILABLE, nothing partial is written, and work again after', async () => {
    expectData(await gw.gql(`mutation { createNamespace(input: {id: "before"}) { id } }`, {}, { tenant: 'main' }));
    const before = await gw.eventCount();
    const intruder = new Database(path.join(gw.dataDir, 'events.sqlite'));
    intruder.pragma('busy_timeout = 0');
    intruder.exec('BEGIN EXCLUSIVE');
    try {
      const started = Date.now();
      const results = await Promise.all(
        ['a', 'b', 'c'].map((id) => gw.gql(`mutation { createNamespace(input: {id: "locked-${id}"}) { id } }`, {}, { tenant: 'main' })),
      );
      for (const result of results) {
        expect(errorCode(result)).toBe('SERVICE_UNAVAILABLE');
        expect(result.errors?.[0]?.message).not.toMatch(/sqlite|events\.sqlite|SQLITE_/i);
      }
      expect(Date.now() - started).toBeLessThan(3000);
    } finally {
      intruder.exec('ROLLBACK');
      intruder.close();
    }
    expect(await gw.eventCount()).toBe(before);
    const listed = expectData(await gw.gql<{ namespaces: { id: string }[] }>(`{ namespaces { id } }`, {}, { tenant: 'main' }));
    expect(listed.namespaces.map((n) => n.id)).toEqual(['before']);
    expectData(await gw.gql(`mutation { createNamespace(input: {id: "after"}) { id } }`, {}, { tenant: 'main' }));
  });
});

describe('50 clients change one namespace at once', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startTestGateway();
    expectData(await gw.gql(`mutation { createNamespace(input: {id: "contended"}) { id revision } }`, {}, { tenant: 'main' }));
  });
  afterAll(async () => {
    await gw.dispose();
  });

  const update = (i: number, expectedRevision?: number): Promise<GqlResult<{ updateNamespace: { revision: number } }>> =>
    gw.gql(
      `mutation($v: JSON, $r: Int) { updateNamespace(id: "contended", input: {variables: $v}, expectedRevision: $r) { revision } }`,
      { v: { client: i }, r: expectedRevision ?? null },
      { tenant: 'main' },
    );

  it('pinned to the same revision: exactly one wins, the other 49 get CONFLICT with the actual revision', async () => {
    const results = await Promise.all(Array.from({ length: 50 }, (_, i) => update(i, 1)));
    const won = results.filter((r) => !r.errors);
    const conflicts = results.filter((r) => errorCode(r) === 'CONFLICT');
    expect(won).toHaveLength(1);
    expect(conflicts).toHaveLength(49);
    for (const conflict of conflicts) expect(conflict.errors?.[0]?.extensions['actualRevision']).toBe(2);
  });

  it('unpinned: each is retried or refused, none is lost, and the state equals a serial replay of the log', async () => {
    const results = await Promise.all(Array.from({ length: 50 }, (_, i) => update(100 + i)));
    for (const result of results) expect(result.errors === undefined || errorCode(result) === 'CONFLICT').toBe(true);
    const succeeded = results.filter((r) => !r.errors).length;
    expect(succeeded).toBeGreaterThan(1);

    const events = await gw.app.events.readStream('main/namespace/contended');
    // One event per successful mutation (1 create + 1 pinned winner + the unpinned that succeeded).
    expect(events).toHaveLength(2 + succeeded);
    // No lost update: every change was decided on the state the previous one left.
    const changes = events
      .slice(1)
      .map((e) => (e.data as { changes: { variables: { before: unknown; after: unknown } } }).changes.variables);
    for (let i = 1; i < changes.length; i++) expect(changes[i]?.before).toEqual(changes[i - 1]?.after);
    // The read model and the answer equal a fold of the log from scratch.
    const { state, revision } = await new CommandHandler(gw.app.events, upcasters).load(namespaceDecider, 'main/namespace/contended');
    const read = expectData(
      await gw.gql<{ namespace: { variables: unknown; revision: number } }>(
        `{ namespace(id: "contended") { variables revision } }`,
        {},
        { tenant: 'main' },
      ),
    );
    expect(read.namespace).toEqual({ variables: state.status === 'active' ? state.variables : null, revision });
  });
});
