import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { entryHash, type AuditEntryDocument, type AuditEntryView } from '../../src/projections/audit/audit-entry.js';
import { AUDIT_CHAIN_HEADS, AUDIT_LOGS } from '../../src/projections/audit/audit.projection.js';
import type { Collection } from '../../src/readmodels/port.js';
import { ADMIN_TOKEN, errorCode, expectData, startTestGateway, type TestGateway } from '../support/gateway.js';

const ENTRY_FIELDS = `id tenantId namespace resourceType resourceId action eventType actor { type id } occurredAt position correlationId changes ip userAgent hash previousHash`;

interface Connection {
  auditLogs: {
    edges: { cursor: string; node: AuditEntryView }[];
    pageInfo: { hasNextPage: boolean; endCursor: string | null };
    totalCount: number;
  };
}

interface Verification {
  verifyAuditLog: {
    ok: boolean;
    checkedEntries: number;
    firstBrokenEntryId: string | null;
    firstBrokenPosition: string | null;
    reason: string | null;
    source: string | null;
  };
}

const LIST = `query($filter: AuditLogFilter, $first: Int, $after: String) {
  auditLogs(filter: $filter, first: $first, after: $after) { edges { cursor node { ${ENTRY_FIELDS} } } pageInfo { hasNextPage endCursor } totalCount }
}`;
// Tampering with entries verified before is the job of a full verification (an incremental one starts after them).
const VERIFY = `{ verifyAuditLog(full: true) { ok checkedEntries firstBrokenEntryId firstBrokenPosition reason source } }`;

describe('audit log: query, filters, verification and export (real HTTP)', () => {
  let gw: TestGateway;
  let entries: Collection<AuditEntryDocument>;
  const updates: string[] = [];

  const list = async (filter: Record<string, unknown> = {}, first = 100, after: string | null = null, tenant = 'acme') =>
    expectData(await gw.gql<Connection>(LIST, { filter, first, after }, { tenant })).auditLogs;
  const verify = async () => expectData(await gw.gql<Verification>(VERIFY, {}, { tenant: 'acme' })).verifyAuditLog;

  beforeAll(async () => {
    gw = await startTestGateway();
    entries = gw.app.readModels.instanceCollection<AuditEntryDocument>(AUDIT_LOGS);
    const headers = { 'user-agent': 'audit-e2e/1.0' };
    expectData(await gw.gql(`mutation { createTenant(input: {id: "acme", name: "Acme", adminUserId: "admin"}) { id } }`, {}, { headers }));
    expectData(await gw.gql(`mutation { createTenant(input: {id: "nobody", name: "No admin"}) { id } }`));
    for (const id of ['company', 'company.team', 'marketing']) {
      expectData(await gw.gql(`mutation($id: ID!) { createNamespace(input: {id: $id}) { id } }`, { id }, { tenant: 'acme', headers }));
    }
    for (let i = 1; i <= 3; i++) {
      const result = await gw.gql(
        `mutation($v: JSON) { updateNamespace(id: "company.team", input: {variables: $v, description: "v"}) { revision updatedAt } }`,
        { v: { i } },
        { tenant: 'acme', headers },
      );
      updates.push(String(result.extensions?.['position']));
    }
    expectData(await gw.gql(`mutation { deleteNamespace(id: "marketing") { id } }`, {}, { tenant: 'acme', headers }));
  });

  afterAll(async () => {
    await gw.dispose();
  });

  it('lists one entry per event, newest first, with actor, request metadata and the changes', async () => {
    const page = await list();
    const events = (await gw.app.events.readAll({ streamPrefix: 'acme/', maxCount: 10_000 })).reverse();
    expect(page.totalCount).toBe(events.length);
    expect(page.edges.map((e) => e.node.id)).toEqual(events.map((e) => e.id));
    expect(page.edges.map((e) => Number(e.node.position))).toEqual(events.map((e) => e.position));
    const update = page.edges.find((e) => e.node.eventType === 'NamespaceUpdated')?.node;
    expect(update).toMatchObject({
      tenantId: 'acme',
      namespace: 'company.team',
      resourceType: 'NAMESPACE',
      resourceId: 'company.team',
      action: 'UPDATE',
      actor: { type: 'USER', id: 'admin' },
      userAgent: 'audit-e2e/1.0',
      changes: { variables: { before: { i: 2 }, after: { i: 3 } } },
    });
    expect(update?.ip).toMatch(/127\.0\.0\.1|::1/);
    const created = page.edges.find((e) => e.node.eventType === 'NamespaceCreated' && e.node.resourceId === 'marketing')?.node;
    expect(created?.changes).toEqual({ after: { id: 'marketing', description: null } });
    for (const { node } of page.edges) expect(entryHash(node)).toBe(node.hash);
  });

  it('pages with Relay cursors without gaps or repeats, and answers totalCount', async () => {
    const all = await list();
    const seen: string[] = [];
    let after: string | null = null;
    for (;;) {
      const page = await list({}, 3, after);
      expect(page.totalCount).toBe(all.totalCount);
      seen.push(...page.edges.map((e) => e.node.id));
      if (!page.pageInfo.hasNextPage) break;
      after = page.pageInfo.endCursor;
    }
    expect(seen).toEqual(all.edges.map((e) => e.node.id));
    expect(errorCode(await gw.gql(LIST, { after: 'not-a-cursor' }, { tenant: 'acme' }))).toBe('BAD_USER_INPUT');
    expect(errorCode(await gw.gql(LIST, { first: 100_000 }, { tenant: 'acme' }))).toBe('BAD_USER_INPUT');
  });

  it('filters by namespace subtree, resource type and id, actor, action and time range', async () => {
    const ids = async (filter: Record<string, unknown>) => (await list(filter)).edges.map((e) => e.node);
    const subtree = await ids({ namespace: 'company' });
    expect(new Set(subtree.map((e) => e.namespace))).toEqual(new Set(['company', 'company.team']));
    expect(subtree).toHaveLength(5);
    expect(await ids({ namespace: 'company.team' })).toHaveLength(4);
    expect((await ids({ resourceType: 'TENANT' })).map((e) => e.eventType)).toEqual(['TenantCreated']);
    expect((await ids({ resourceId: 'marketing' })).map((e) => e.eventType)).toEqual(['NamespaceDeleted', 'NamespaceCreated']);
    expect((await ids({ action: 'UPDATE' })).map((e) => e.position)).toEqual([...updates].reverse());
    expect(await ids({ actorId: 'admin' })).toHaveLength((await list()).totalCount);
    expect(await ids({ actorId: 'someone-else' })).toEqual([]);
    expect(await ids({ resourceType: 'BINDING', action: 'GRANT' })).toHaveLength(1);

    const updated = (await ids({ action: 'UPDATE' })).reverse();
    const [first, second, third] = updated;
    const window = await ids({ from: second?.occurredAt, to: third?.occurredAt });
    expect(window.every((e) => e.occurredAt >= (second?.occurredAt ?? '') && e.occurredAt < (third?.occurredAt ?? ''))).toBe(true);
    expect(window.map((e) => e.id)).toContain(second?.id);
    expect(window.map((e) => e.id)).not.toContain(first?.id);
    expect(errorCode(await gw.gql(LIST, { filter: { namespace: 'Not Valid' } }, { tenant: 'acme' }))).toBe('BAD_USER_INPUT');
  });

  it('requires AUDITLOG:LIST: a principal without it is refused, and tenants never see each other', async () => {
    // The instance admin holds no audit rights inside a tenant it is not bound in (Kestra's rule).
    const refused = await gw.gql(LIST, {}, { tenant: 'nobody' });
    expect(errorCode(refused)).toBe('FORBIDDEN');
    expect(refused.errors?.[0]?.extensions['permission']).toBe('AUDITLOG:LIST');
    expect(errorCode(await gw.gql(LIST, {}, { tenant: 'acme', token: null }))).toBe('UNAUTHENTICATED');
    const main = await list({}, 100, null, 'main');
    expect(main.edges.every((e) => e.node.tenantId === 'main')).toBe(true);
    expect(main.edges.map((e) => e.node.resourceId)).not.toContain('company.team');
  });

  it('puts instance-level events in the `_instance` trail, which instance admins read on /api/v1/graphql', async () => {
    expectData(await gw.gql(`mutation { createUser(input: {id: "dora", email: "dora@example.com"}) { id } }`));
    const trail = expectData(await gw.gql<Connection>(LIST, { filter: { resourceType: 'USER' } })).auditLogs;
    expect(trail.edges.map((e) => e.node.resourceId)).toEqual(['dora', 'admin']);
    expect(trail.edges.every((e) => e.node.tenantId === '_instance')).toBe(true);
    expect(expectData(await gw.gql<Verification>(VERIFY)).verifyAuditLog.ok).toBe(true);
  });

  describe('tamper evidence', () => {
    const pick = async (eventType: string): Promise<AuditEntryDocument> => {
      const doc = (await entries.find({ tenantId: 'acme', eventType }, { sort: { position: 1 } }))[1] ?? null;
      if (!doc) throw new Error(`no ${eventType} entry`);
      return doc;
    };

    it('verifies an untouched chain from the read model and from the event log', async () => {
      const result = await verify();
      expect(result).toMatchObject({ ok: true, firstBrokenEntryId: null, source: null });
      expect(result.checkedEntries).toBe((await list()).totalCount);
    });

    it('an edited field of one entry is named (read model: its hash no longer matches)', async () => {
      const doc = await pick('NamespaceUpdated');
      await entries.updateOne({ _id: doc._id }, { $set: { 'actor.id': 'mallory' } });
      try {
        expect(await verify()).toMatchObject({
          ok: false,
          firstBrokenEntryId: doc._id,
          firstBrokenPosition: String(doc.position),
          source: 'readModel',
        });
      } finally {
        await entries.replaceOne({ _id: doc._id }, doc);
      }
      expect((await verify()).ok).toBe(true);
    });

    it('one changed character of a stored hash is named', async () => {
      const doc = await pick('NamespaceCreated');
      const flipped = (doc.hash[0] === 'a' ? 'b' : 'a') + doc.hash.slice(1);
      await entries.updateOne({ _id: doc._id }, { $set: { hash: flipped } });
      try {
        const result = await verify();
        expect(result).toMatchObject({ ok: false, firstBrokenEntryId: doc._id, source: 'readModel' });
        expect(result.reason).toMatch(/hash/);
      } finally {
        await entries.replaceOne({ _id: doc._id }, doc);
      }
    });

    it('a deleted entry is named (the event log still has its event)', async () => {
      const doc = await pick('NamespaceUpdated');
      await entries.deleteOne({ _id: doc._id });
      try {
        expect(await verify()).toMatchObject({
          ok: false,
          firstBrokenEntryId: doc._id,
          firstBrokenPosition: String(doc.position),
          source: 'eventLog',
        });
      } finally {
        await entries.insertOne(doc);
      }
      expect((await verify()).ok).toBe(true);
    });

    /** The entry as hashed, chained after `previousHash` (what someone who knows the hash rule would write). */
    const rehashed = (doc: AuditEntryDocument, previousHash: string | null): AuditEntryDocument => {
      const { _id, changesJson, namespacePath: _derived, ...rest } = doc;
      const view = {
        ...rest,
        id: _id,
        position: String(doc.position),
        changes: changesJson === null ? null : (JSON.parse(changesJson) as AuditEntryView['changes']),
        previousHash,
      };
      return { ...doc, previousHash, hash: entryHash(view) };
    };

    it('an inserted entry that no event explains is named, even chained and hashed as the rule says', async () => {
      const all = await entries.find({ tenantId: 'acme' }, { sort: { position: 1 } });
      const last = all.at(-1)!;
      const forged = rehashed(
        { ...last, _id: `${last._id}-forged`, position: last.position + 1_000, actor: { type: 'USER', id: 'mallory' } },
        last.hash,
      );
      const heads = gw.app.readModels.instanceCollection(AUDIT_CHAIN_HEADS);
      const head = await heads.findOne({ _id: 'acme' });
      await entries.insertOne(forged);
      await heads.updateOne({ _id: 'acme' }, { $set: { hash: forged.hash, position: forged.position } });
      try {
        const result = await verify();
        expect(result).toMatchObject({ ok: false, source: 'eventLog' });
        expect(result.firstBrokenEntryId).toBe(forged._id);
      } finally {
        await entries.deleteOne({ _id: forged._id });
        if (head) await heads.replaceOne({ _id: 'acme' }, head);
      }
      expect((await verify()).ok).toBe(true);
    });

    it('two entries swapped in order are named at the first of them, even re-chained', async () => {
      const all = await entries.find({ tenantId: 'acme' }, { sort: { position: 1 } });
      const i = all.findIndex((d) => d.eventType === 'NamespaceUpdated');
      const [a, b] = [all[i]!, all[i + 1]!];
      // b takes a's place in the chain and a takes b's: positions swapped, hashes recomputed along the new order.
      const movedB = rehashed({ ...b, position: a.position }, all[i - 1]?.hash ?? null);
      const movedA = rehashed({ ...a, position: b.position }, movedB.hash);
      const originals = all.slice(i);
      let previous = movedA.hash;
      const rest = all.slice(i + 2).map((doc) => {
        const next = rehashed(doc, previous);
        previous = next.hash;
        return next;
      });
      const heads = gw.app.readModels.instanceCollection(AUDIT_CHAIN_HEADS);
      const head = await heads.findOne({ _id: 'acme' });
      await entries.updateOne({ _id: a._id }, { $set: { position: -1 } }); // (tenant, position) is unique
      for (const doc of [movedB, movedA, ...rest]) await entries.replaceOne({ _id: doc._id }, doc);
      await heads.updateOne({ _id: 'acme' }, { $set: { hash: previous } });
      try {
        const result = await verify();
        expect(result).toMatchObject({ ok: false, firstBrokenPosition: String(a.position), source: 'eventLog' });
      } finally {
        await entries.updateOne({ _id: b._id }, { $set: { position: -1 } });
        for (const doc of originals) await entries.replaceOne({ _id: doc._id }, doc);
        if (head) await heads.replaceOne({ _id: 'acme' }, head);
      }
      expect((await verify()).ok).toBe(true);
    });

    it('an edit whose chain was recomputed to look consistent is still caught against the event log', async () => {
      const all = await entries.find({ tenantId: 'acme' }, { sort: { position: 1 } });
      const target = all.findIndex((d) => d.eventType === 'NamespaceDeleted');
      const originals = all.slice(target);
      let previous = all[target - 1]?.hash ?? null;
      for (const doc of originals) {
        const next = rehashed(doc === originals[0] ? { ...doc, actor: { type: 'USER', id: 'mallory' } } : doc, previous);
        await entries.updateOne({ _id: doc._id }, { $set: { actor: next.actor, previousHash: previous, hash: next.hash } });
        previous = next.hash;
      }
      const heads = gw.app.readModels.instanceCollection(AUDIT_CHAIN_HEADS);
      const head = await heads.findOne({ _id: 'acme' });
      await heads.updateOne({ _id: 'acme' }, { $set: { hash: previous } });
      try {
        const result = await verify();
        expect(result).toMatchObject({ ok: false, firstBrokenEntryId: originals[0]?._id, source: 'eventLog' });
        expect(result.reason).toMatch(/actor/);
      } finally {
        for (const doc of originals) await entries.replaceOne({ _id: doc._id }, doc);
        if (head) await heads.replaceOne({ _id: 'acme' }, head);
      }
      expect((await verify()).ok).toBe(true);
    });
  });

  describe('export over HTTP', () => {
    const download = (query: string, options: { tenant?: string | null; token?: string | null } = {}) => {
      const tenant = options.tenant === undefined ? 'acme' : options.tenant;
      const token = options.token === undefined ? ADMIN_TOKEN : options.token;
      return fetch(`${gw.url}/api/v1/${tenant ? `${tenant}/` : ''}audit-logs/export${query}`, {
        headers: token ? { authorization: `Bearer ${token}` } : {},
      });
    };

    it('streams NDJSON oldest first; every line is an entry whose hash an auditor can recompute', async () => {
      const response = await download('?format=ndjson');
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toMatch(/application\/x-ndjson/);
      expect(response.headers.get('content-disposition')).toMatch(/attachment; filename="audit-acme-.*\.ndjson"/);
      const lines = (await response.text())
        .trimEnd()
        .split('\n')
        .map((l) => JSON.parse(l) as AuditEntryView);
      const listed = (await list()).edges.map((e) => e.node).reverse();
      expect(lines).toEqual(listed);
      let previous: string | null = null;
      for (const entry of lines) {
        expect(entry.previousHash).toBe(previous);
        expect(entryHash(entry)).toBe(entry.hash);
        previous = entry.hash;
      }
    });

    it('streams CSV with a header and one row per entry, filtered by time range and the other filters', async () => {
      const updated = (await list({ action: 'UPDATE' })).edges.map((e) => e.node).reverse();
      const from = encodeURIComponent(updated[1]?.occurredAt ?? '');
      const response = await download(`?format=csv&action=UPDATE&from=${from}`);
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toMatch(/text\/csv/);
      const text = await response.text();
      const rows = text.split('\r\n').filter((r) => r !== '');
      expect(rows[0]?.split(',')[0]).toBe('id');
      expect(rows.slice(1).map((r) => r.split(',')[0])).toEqual(
        updated.filter((u) => u.occurredAt >= (updated[1]?.occurredAt ?? '')).map((u) => u.id),
      );
      expect(rows[1]).toContain('"{""variables"":');
    });

    it('refuses without a token (401), without AUDITLOG:EXPORT (403), bad format or dates (400)', async () => {
      const anonymous = await download('?format=ndjson', { token: null });
      expect(anonymous.status).toBe(401);
      expect(((await anonymous.json()) as { errors: { extensions: { code: string } }[] }).errors[0]?.extensions.code).toBe(
        'UNAUTHENTICATED',
      );
      expect((await download('?format=ndjson', { token: 'wrong' })).status).toBe(401);
      const forbidden = await download('?format=ndjson', { tenant: 'nobody' });
      expect(forbidden.status).toBe(403);
      expect(((await forbidden.json()) as { errors: { extensions: { permission: string } }[] }).errors[0]?.extensions.permission).toBe(
        'AUDITLOG:EXPORT',
      );
      expect((await download('?format=xml')).status).toBe(400);
      expect((await download('?from=yesterday')).status).toBe(400);
      expect((await download('', { tenant: 'no-such-tenant' })).status).toBe(404);
    });

    it('exports the instance trail to instance admins on /api/v1/audit-logs/export', async () => {
      const response = await download('?format=ndjson', { tenant: null });
      expect(response.status).toBe(200);
      const lines = (await response.text())
        .trimEnd()
        .split('\n')
        .map((l) => JSON.parse(l) as AuditEntryView);
      expect(lines.every((l) => l.tenantId === '_instance')).toBe(true);
      expect(lines.map((l) => l.eventType)).toContain('UserCreated');
    });
  });
});
