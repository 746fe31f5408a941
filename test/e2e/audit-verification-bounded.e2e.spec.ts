/**
 * verifyAuditLog does not re-read the whole trail every time: it goes on from
 * the last verified entry (whose hash must still be the verified one), a full
 * re-verification runs as a background job with progress, and expensive work
 * is limited per tenant. Counted in events read and entries checked, never in
 * time.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventIdFor } from '../../src/commands/handler.js';
import { entryHash, type AuditEntryDocument, type AuditEntryView } from '../../src/projections/audit/audit-entry.js';
import { AUDIT_CHAIN_HEADS, AUDIT_LOGS } from '../../src/projections/audit/audit.projection.js';
import { Slicer } from '../../src/shared/slices.js';
import { CountingEvents } from '../support/counting-events.js';
import { errorCode, expectData, startTestGateway, type TestGateway } from '../support/gateway.js';

interface Verification {
  ok: boolean;
  checkedEntries: number;
  newlyCheckedEntries: number;
  incremental: boolean;
  verifiedFrom: string;
  reason: string | null;
  source: string | null;
}

const VERIFY = `{ verifyAuditLog { ok checkedEntries newlyCheckedEntries incremental verifiedFrom reason source } }`;

describe('audit verification: incremental, in the background, and within the tenant’s share', () => {
  const counting = new CountingEvents();
  let gw: TestGateway;
  let created = 0;

  const verify = async (tenant = 'main'): Promise<Verification> =>
    expectData(await gw.gql<{ verifyAuditLog: Verification }>(VERIFY, {}, { tenant })).verifyAuditLog;
  const createNamespaces = async (count: number, tenant = 'main'): Promise<void> => {
    for (let i = 0; i < count; i++) {
      expectData(await gw.gql(`mutation { createNamespace(input: {id: "team.n${created++}"}) { id } }`, {}, { tenant }));
    }
    await gw.app.projections.waitFor(await gw.eventCount(), 30_000);
  };
  const chainLength = async (): Promise<number> =>
    (await gw.app.readModels.instanceCollection<{ _id: string; entries?: number }>(AUDIT_CHAIN_HEADS).findOne({ _id: 'main' }))?.entries ??
    0;

  beforeAll(async () => {
    gw = await startTestGateway({ wrapEvents: counting.wrap });
    expectData(await gw.gql(`mutation { createTenant(input: {id: "other", name: "Other", adminUserId: "admin"}) { id } }`));
    await createNamespaces(30);
  });
  afterAll(async () => {
    await gw.dispose();
  });

  it('the first verification checks every entry; the next one only those appended since', async () => {
    const first = await verify();
    expect(first).toMatchObject({ ok: true, incremental: false, verifiedFrom: '0' });
    expect(first.newlyCheckedEntries).toBe(await chainLength());

    await createNamespaces(5);
    counting.reset();
    const next = await verify();
    expect(next).toMatchObject({ ok: true, incremental: true, newlyCheckedEntries: 5, checkedEntries: first.checkedEntries + 5 });
    expect(Number(next.verifiedFrom)).toBeGreaterThan(0);
    // The events read from the log: the 5 new ones, not the whole trail (once for the ledger, once for the audit chain).
    expect(counting.logEventsRead).toBe(2 * 5);

    counting.reset();
    expect(await verify()).toMatchObject({ ok: true, incremental: true, newlyCheckedEntries: 0 });
    expect(counting.logEventsRead).toBe(0);
  });

  it('a rewritten past (an old entry edited and every later hash recomputed) is caught by the incremental verification', async () => {
    const entries = gw.app.readModels.instanceCollection<AuditEntryDocument>(AUDIT_LOGS);
    const all = await entries.find({ tenantId: 'main' }, { sort: { position: 1 } });
    const start = Math.floor(all.length / 2);
    const originals = all.slice(start);
    let previous = all[start - 1]?.hash ?? null;
    for (const doc of originals) {
      const { _id, changesJson, namespacePath: _derived, ...rest } = doc;
      const view: AuditEntryView = {
        ...rest,
        id: _id,
        position: String(doc.position),
        changes: changesJson === null ? null : (JSON.parse(changesJson) as AuditEntryView['changes']),
        previousHash: previous,
      };
      if (doc === originals[0]) view.actor = { type: 'USER', id: 'mallory' };
      const hash = entryHash(view);
      await entries.updateOne({ _id }, { $set: { actor: view.actor, previousHash: previous, hash } });
      previous = hash;
    }
    const heads = gw.app.readModels.instanceCollection(AUDIT_CHAIN_HEADS);
    const head = await heads.findOne({ _id: 'main' });
    await heads.updateOne({ _id: 'main' }, { $set: { hash: previous } });
    try {
      const result = await verify();
      expect(result).toMatchObject({ ok: false, incremental: true, source: 'readModel' });
      expect(result.reason).toMatch(/rewritten/);
    } finally {
      for (const doc of originals) await entries.replaceOne({ _id: doc._id }, doc);
      if (head) await heads.replaceOne({ _id: 'main' }, head);
    }
    expect((await verify()).ok).toBe(true);
  });

  it('a full re-verification runs as a background job, with progress, and records its outcome', async () => {
    const started = expectData(
      await gw.gql<{ startAuditVerification: { id: string; status: string; totalEntries: number } }>(
        `mutation { startAuditVerification { id status totalEntries } }`,
        {},
        { tenant: 'main' },
      ),
    ).startAuditVerification;
    expect(started.totalEntries).toBe(await chainLength());
    let job: { status: string; checkedEntries: number; totalEntries: number; result: { ok: boolean; incremental: boolean } | null };
    for (const deadline = Date.now() + 30_000; ;) {
      job = expectData(
        await gw.gql<{ auditVerificationJob: typeof job }>(
          `query($id: ID!) { auditVerificationJob(id: $id) { status checkedEntries totalEntries result { ok incremental } } }`,
          { id: started.id },
          { tenant: 'main' },
        ),
      ).auditVerificationJob;
      if (job.status !== 'RUNNING' || Date.now() > deadline) break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(job).toMatchObject({ status: 'SUCCEEDED', checkedEntries: started.totalEntries, result: { ok: true, incremental: false } });
    const listed = expectData(
      await gw.gql<{ auditVerificationJobs: { id: string }[] }>(`{ auditVerificationJobs { id } }`, {}, { tenant: 'main' }),
    );
    expect(listed.auditVerificationJobs[0]?.id).toBe(started.id);
  });

  it("a tenant whose expensive slots are taken is told to retry; another tenant's verification still runs", async () => {
    const slots = [gw.app.heavy.acquire('main', 'audit export'), gw.app.heavy.acquire('main', 'audit export')];
    try {
      for (const doc of [VERIFY, `mutation { startAuditVerification { id } }`]) {
        const refused = await gw.gql(doc, {}, { tenant: 'main' });
        expect(errorCode(refused)).toBe('RATE_LIMITED');
        expect(refused.errors?.[0]?.extensions['retryAfterSeconds']).toBeGreaterThan(0);
      }
      expect((await verify('other')).ok).toBe(true);
    } finally {
      for (const slot of slots) slot.release();
    }
    expect((await verify()).ok).toBe(true);
  });

  it('an audit export takes one of the slots while it streams, is refused with 429 when none is free, and gives it back', async () => {
    const url = `${gw.url}/api/v1/main/audit-logs/export?format=ndjson`;
    const headers = { authorization: 'Bearer test-admin-token-0123456789' };
    const slots = [gw.app.heavy.acquire('main', 'time travel'), gw.app.heavy.acquire('main', 'time travel')];
    try {
      const refused = await fetch(url, { headers });
      expect(refused.status).toBe(429);
      expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
      expect(((await refused.json()) as { errors: { extensions: { code: string } }[] }).errors[0]?.extensions.code).toBe('RATE_LIMITED');
    } finally {
      for (const slot of slots) slot.release();
    }
    const before = gw.app.heavy.active;
    const done = await fetch(url, { headers });
    expect(done.status).toBe(200);
    expect((await done.text()).split('\n').filter(Boolean).length).toBeGreaterThan(30);
    expect(gw.app.heavy.active).toBe(before);
    // A client that goes away mid-download gives the slot back too.
    const aborted = new AbortController();
    const partial = await fetch(url, { headers, signal: aborted.signal });
    aborted.abort();
    await partial.body?.cancel().catch(() => undefined);
    for (const deadline = Date.now() + 10_000; gw.app.heavy.active !== before && Date.now() < deadline;) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(gw.app.heavy.active).toBe(before);
  });

  it('a verification stopped by its deadline goes on from where it stopped', { timeout: 120_000 }, async () => {
    // 6,000 more entries, appended straight to the log (one namespace's updates), beyond the verified point.
    const stream = 'main/namespace/bulk';
    const metadata = (n: number) => ({
      tenantId: 'main',
      namespace: 'bulk',
      actor: { type: 'USER' as const, id: 'admin' },
      correlationId: `bulk-${n}`,
      commandId: `bulk-${n}`,
      occurredAt: new Date(Date.UTC(2026, 0, 1, 0, 0, n)).toISOString(),
    });
    await gw.app.events.appendToStream(
      stream,
      [
        {
          id: eventIdFor('bulk-0', 0),
          type: 'NamespaceCreated',
          schemaVersion: 1,
          data: { id: 'bulk', description: 'd0' },
          metadata: metadata(0),
        },
      ],
      { expectedRevision: 'no_stream' },
    );
    for (let batch = 0; batch < 12; batch++) {
      const events = Array.from({ length: 500 }, (_, i) => {
        const n = batch * 500 + i + 1;
        return {
          id: eventIdFor(`bulk-${n}`, 0),
          type: 'NamespaceUpdated',
          schemaVersion: 1,
          data: { id: 'bulk', changes: { description: { before: `d${n - 1}`, after: `d${n}` } } },
          metadata: metadata(n),
        };
      });
      await gw.app.events.appendToStream(stream, events, { expectedRevision: batch * 500 });
    }
    expect(await gw.app.projections.waitFor(await gw.eventCount(), 60_000)).toBe(true);

    const deadline = new AbortController();
    let reached = 0;
    await expect(
      gw.services.audit.verifyNow('main', {
        full: false,
        slicer: new Slicer(deadline.signal),
        onProgress: (n) => {
          reached = n;
          deadline.abort(new Error('deadline'));
        },
      }),
    ).rejects.toThrow('deadline');
    expect(reached).toBeGreaterThan(0);

    const total = await chainLength();
    const resumed = await gw.services.audit.verifyNow('main', { full: false });
    expect(resumed).toMatchObject({ ok: true, incremental: true, checkedEntries: total });
    // It went on from the saved progress: what was checked before the deadline is not checked again.
    expect(resumed.newlyCheckedEntries).toBe(total - reached);
  });
});

describe('audit verification over large events (the embedded log)', () => {
  const counting = new CountingEvents();
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startTestGateway({ eventStore: 'sqlite', wrapEvents: counting.wrap });
    expectData(await gw.gql(`mutation { createTenant(input: {id: "big", name: "Big", adminUserId: "admin"}) { id } }`));
    expectData(await gw.gql(`mutation { createNamespace(input: {id: "team"}) { id } }`, {}, { tenant: 'big' }));
    const padding = `# ${'x'.repeat(200_000)}\n`;
    for (let i = 0; i < 30; i++) {
      const source = `${padding}id: f${i}\nnamespace: team\ntasks:\n  - id: t\n    type: io.kestra.plugin.core.log.Log\n    message: hi\n`;
      expectData(await gw.gql(`mutation($s: String!) { createFlow(source: $s) { id } }`, { s: source }, { tenant: 'big' }));
    }
    await gw.app.projections.waitFor(await gw.eventCount(), 30_000);
  });
  afterAll(async () => {
    await gw.dispose();
  });

  it('reads the log in pages small enough not to hold the event loop (250 events of 200 KB held it for 100 ms and more)', async () => {
    counting.reset();
    const result = expectData(
      await gw.gql<{ verifyAuditLog: Verification }>(`{ verifyAuditLog(full: true) { ok checkedEntries } }`, {}, { tenant: 'big' }),
    );
    expect(result.verifyAuditLog.ok).toBe(true);
    // Both passes read every event of the tenant (the ledger, then the audit chain) ...
    expect(counting.logEventsRead).toBeGreaterThanOrEqual(2 * 32);
    // ... 16 at most at a time: 3 MB of JSON already takes more than a slice to parse, so the pages shrink from there.
    expect(counting.largestLogRead).toBeLessThanOrEqual(16);
  });
});
