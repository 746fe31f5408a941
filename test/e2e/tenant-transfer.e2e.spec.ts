import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exportTenant, importTenant } from '../../src/application/tenant-transfer.js';
import { CHECKPOINTS } from '../../src/projections/runtime/runner.js';
import { errorCode, expectData, startTestGateway, type TestGateway } from '../support/gateway.js';

const flow = (id: string, message: string) => `id: ${id}
namespace: company.team
tasks:
  - id: hello
    type: io.kestra.plugin.core.log.Log
    message: ${message}
`;

/** Read-model documents of one tenant, with what necessarily differs between two tenants taken out. */
async function tenantDocuments(gw: TestGateway, tenantId: string): Promise<Record<string, unknown[]>> {
  const out: Record<string, unknown[]> = {};
  for (const name of (await gw.app.documents.listCollections()).sort()) {
    // Read models only: the vault (with MongoDB it shares the database) holds values a fork deliberately does not get.
    if (name === CHECKPOINTS || name.startsWith('projection_') || name.startsWith('read_model_') || name.startsWith('vault_')) continue;
    // The ledger hashes the new log's own events (ids, positions): a fork's tree is its own by design.
    if (name.startsWith('audit_ledger_') || name === 'audit_checkpoints') continue;
    const docs = await gw.app.documents.collection(name).find({ tenantId });
    out[name] = docs
      .map((doc) => normalise(doc, tenantId, name.startsWith('auditLogs')))
      .sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));
  }
  return out;
}

function normalise(value: unknown, tenantId: string, audit: boolean): unknown {
  if (typeof value === 'string')
    return value === tenantId ? '<tenant>' : value.startsWith(`${tenantId}/`) ? `<tenant>/${value.slice(tenantId.length + 1)}` : value;
  if (Array.isArray(value)) return value.map((v) => normalise(v, tenantId, audit));
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) {
      // Positions and event ids are the new log's own; audit hashes chain over them.
      if (['_pos', 'position', 'hash', 'previousHash', 'updatedAtPosition'].includes(key)) continue;
      if (audit && ['_id', 'id', 'eventId', 'commandId', 'causationId'].includes(key)) continue;
      // Read models keep user JSON as text; compare what it says.
      const parsed = key.endsWith('Json') && typeof item === 'string' ? (JSON.parse(item) as unknown) : item;
      out[key] = normalise(parsed, tenantId, audit);
    }
    return out;
  }
  return value;
}

describe('tenant export and import (fork acme into acme-copy)', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startTestGateway();
    const acme = { tenant: 'acme' };
    expectData(await gw.gql(`mutation { createTenant(input: {id: "acme", name: "Acme", adminUserId: "admin"}) { id } }`));
    expectData(await gw.gql(`mutation { createNamespace(input: {id: "company", description: "Company"}) { id } }`, {}, acme));
    expectData(await gw.gql(`mutation { createNamespace(input: {id: "company.team"}) { id } }`, {}, acme));
    expectData(await gw.gql(`mutation { updateNamespace(id: "company", input: {variables: {region: "eu"}}) { id } }`, {}, acme));
    expectData(await gw.gql(`mutation($s: String!) { createFlow(source: $s) { id } }`, { s: flow('etl', 'one') }, acme));
    expectData(
      await gw.gql(
        `mutation($s: String!) { updateFlow(namespace: "company.team", id: "etl", source: $s) { id } }`,
        { s: flow('etl', 'two') },
        acme,
      ),
    );
    expectData(
      await gw.gql(
        `mutation { putSecret(input: {namespace: "company", key: "DB_PASSWORD", value: "s3cr3t-value", description: "db"}) { key } }`,
        {},
        acme,
      ),
    );
    expectData(await gw.gql(`mutation { deleteNamespace(id: "company.team", force: true) { id } }`, {}, acme));
  });
  afterAll(async () => {
    await gw.dispose();
  });

  it('gives identical read models under the new tenant, and its audit chain verifies', async () => {
    const lines: string[] = [];
    for await (const line of exportTenant(gw.app, 'acme')) lines.push(line.trimEnd());
    expect(lines.length).toBeGreaterThan(8);
    const result = await importTenant(gw.app, 'acme-copy', async function* () {
      yield* lines;
    });
    expect(result).toMatchObject({ tenantId: 'acme-copy', sourceTenantId: 'acme', events: lines.length - 1 });

    expect(await tenantDocuments(gw, 'acme-copy')).toEqual(await tenantDocuments(gw, 'acme'));

    const query = `{ namespaces { id existing description variables } flows(includeChildren: true, includeDeleted: true) { totalCount } secrets(namespace: "company") { key version } }`;
    const original = expectData(await gw.gql(query, {}, { tenant: 'acme' }));
    const copy = expectData(await gw.gql(query, {}, { tenant: 'acme-copy' }));
    expect(copy).toEqual(original);

    const verified = expectData(
      await gw.gql<{ verifyAuditLog: { ok: boolean; checkedEntries: number } }>(
        `{ verifyAuditLog { ok checkedEntries reason } }`,
        {},
        { tenant: 'acme-copy' },
      ),
    );
    expect(verified.verifyAuditLog.ok).toBe(true);
    expect(verified.verifyAuditLog.checkedEntries).toBe(lines.length - 1);
  });

  it('re-running the same import writes nothing twice; an existing tenant id is refused', async () => {
    const lines: string[] = [];
    for await (const line of exportTenant(gw.app, 'acme')) lines.push(line.trimEnd());
    const before = await gw.eventCount();
    await importTenant(gw.app, 'acme-copy', async function* () {
      yield* lines;
    });
    expect(await gw.eventCount()).toBe(before);
    await expect(
      importTenant(gw.app, 'main', async function* () {
        yield* lines;
      }),
    ).rejects.toMatchObject({ code: 'CONFLICT' });
    expect(await gw.eventCount()).toBe(before);
  });

  it('refuses input that is not an export, writing nothing', async () => {
    const before = await gw.eventCount();
    await expect(
      importTenant(gw.app, 'other', async function* () {
        yield '{"hello": "world"}';
      }),
    ).rejects.toMatchObject({ code: 'BAD_USER_INPUT' });
    expect(await gw.eventCount()).toBe(before);
    expect(errorCode(await gw.gql(`{ namespaces { id } }`, {}, { tenant: 'other' }))).toBe('TENANT_NOT_FOUND');
  });
});
