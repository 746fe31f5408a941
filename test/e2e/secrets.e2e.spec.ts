import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bind, createUserWithToken } from '../support/access.js';
import { errorCode, expectData, startTestGateway, type TestGateway } from '../support/gateway.js';

const PUT = `mutation Put($input: PutSecretInput!) {
  putSecret(input: $input) { namespace key description tags { key value } version valueAvailable inheritedFrom createdAt updatedAt }
}`;
const LIST = `query List($ns: String!, $inherited: Boolean) {
  secrets(namespace: $ns, includeInherited: $inherited) { namespace key description version valueAvailable inheritedFrom }
}`;
const DELETE = `mutation Del($ns: String!, $key: String!) { deleteSecret(namespace: $ns, key: $key) }`;

interface SecretAnswer {
  namespace: string;
  key: string;
  description: string | null;
  tags?: { key: string; value: string }[];
  version: number;
  valueAvailable: boolean;
  inheritedFrom: string | null;
}

describe('namespace secrets over GraphQL', () => {
  let gw: TestGateway;
  const put = async (tenant: string, input: Record<string, unknown>, token?: string) =>
    gw.gql<{ putSecret: SecretAnswer }>(PUT, { input }, { tenant, ...(token ? { token } : {}) });
  const list = async (tenant: string, ns: string, inherited = false, token?: string) =>
    gw.gql<{ secrets: SecretAnswer[] }>(LIST, { ns, inherited }, { tenant, ...(token ? { token } : {}) });

  const realGet = async (ns: string, key: string, version: number) => gw.app.vault.get('acme', ns, key, version);

  beforeAll(async () => {
    gw = await startTestGateway();
    expectData(await gw.gql(`mutation { createTenant(input: {id: "acme", name: "Acme", adminUserId: "admin"}) { id } }`));
  });
  afterAll(async () => {
    await gw.dispose();
  });

  it('lists a secret put in company as inherited in company.team; nearest wins on equal keys', async () => {
    const created = expectData(await put('acme', { namespace: 'company', key: 'DB_PASSWORD', value: 'pw-company', description: 'db' }));
    expect(created.putSecret).toMatchObject({
      namespace: 'company',
      key: 'DB_PASSWORD',
      version: 1,
      valueAvailable: true,
      inheritedFrom: null,
    });
    expectData(await put('acme', { namespace: 'company', key: 'API_KEY', value: 'k-company' }));
    expectData(await put('acme', { namespace: 'company.team', key: 'API_KEY', value: 'k-team' }));

    const own = expectData(await list('acme', 'company.team')).secrets;
    expect(own.map((s) => [s.namespace, s.key, s.inheritedFrom])).toEqual([['company.team', 'API_KEY', null]]);

    const all = expectData(await list('acme', 'company.team', true)).secrets;
    expect(all.map((s) => [s.key, s.namespace, s.inheritedFrom])).toEqual([
      ['API_KEY', 'company.team', null],
      ['DB_PASSWORD', 'company', 'company'],
    ]);
    // Deeper still: both come from above.
    const deeper = expectData(await list('acme', 'company.team.etl', true)).secrets;
    expect(deeper.map((s) => [s.key, s.inheritedFrom])).toEqual([
      ['API_KEY', 'company.team'],
      ['DB_PASSWORD', 'company'],
    ]);
    // The namespaces were never created: the secrets make placeholders appear.
    const namespaces = expectData(
      await gw.gql<{ namespaces: { id: string; existing: boolean }[] }>(`{ namespaces { id existing } }`, {}, { tenant: 'acme' }),
    );
    expect(namespaces.namespaces).toEqual([
      { id: 'company', existing: false },
      { id: 'company.team', existing: false },
    ]);
    // The platform (not GraphQL) can read the values back from the vault.
    expect(await gw.app.vault.get('acme', 'company', 'DB_PASSWORD', 1)).toBe('pw-company');
    expect(await gw.app.vault.get('acme', 'company.team', 'API_KEY', 1)).toBe('k-team');
  });

  it('reports the vault in /readyz', async () => {
    const ready = (await (await fetch(`${gw.url}/readyz`)).json()) as { checks: Record<string, string> };
    expect(ready.checks['vault']).toBe('ok');
  });

  it('bumps the version on every put; omitted description and tags are kept, null clears them', async () => {
    const first = expectData(
      await put('acme', { namespace: 'ops', key: 'TOKEN', value: 'v1', description: 'd', tags: [{ key: 'env', value: 'prod' }] }),
    );
    expect(first.putSecret).toMatchObject({ version: 1, description: 'd', tags: [{ key: 'env', value: 'prod' }] });
    const second = expectData(await put('acme', { namespace: 'ops', key: 'TOKEN', value: 'v2' }));
    expect(second.putSecret).toMatchObject({ version: 2, description: 'd', tags: [{ key: 'env', value: 'prod' }] });
    const third = expectData(await put('acme', { namespace: 'ops', key: 'TOKEN', value: 'v3', description: null, tags: null }));
    expect(third.putSecret).toMatchObject({ version: 3, description: null, tags: [] });
    expect(await gw.app.vault.get('acme', 'ops', 'TOKEN', 3)).toBe('v3');
    // Older versions are pruned once a newer one is in the log.
    expect(await gw.app.vault.get('acme', 'ops', 'TOKEN', 1)).toBeNull();
    const events = await gw.app.events.readStream('acme/secret/ops/TOKEN');
    expect(
      events.map((e) => [e.type, (e.data as { version: number; created: boolean }).version, (e.data as { created: boolean }).created]),
    ).toEqual([
      ['SecretPut', 1, true],
      ['SecretPut', 2, false],
      ['SecretPut', 3, false],
    ]);
  });

  it('refuses bad keys, empty and oversized values with BAD_USER_INPUT, writing nothing', async () => {
    const before = await gw.eventCount();
    const cases: [Record<string, unknown>, string][] = [
      [{ namespace: 'ops', key: 'bad-key', value: 'x' }, 'key'],
      [{ namespace: 'ops', key: '1STARTS_WITH_DIGIT', value: 'x' }, 'key'],
      [{ namespace: 'ops', key: 'K'.repeat(257), value: 'x' }, 'key'],
      [{ namespace: 'ops', key: 'A B', value: 'x' }, 'key'],
      [{ namespace: 'Bad Namespace', key: 'OK', value: 'x' }, 'namespace'],
      [{ namespace: 'ops', key: 'OK', value: '' }, 'value'],
      [{ namespace: 'ops', key: 'OK', value: 'é'.repeat(32 * 1024 + 1) }, 'value'],
      [{ namespace: 'ops', key: 'OK', value: 'x', tags: [{ key: '', value: 'v' }] }, 'tags[0].key'],
    ];
    for (const [input, field] of cases) {
      const result = await put('acme', input);
      expect(errorCode(result), JSON.stringify(input).slice(0, 80)).toBe('BAD_USER_INPUT');
      expect(result.errors?.[0]?.extensions['field']).toBe(field);
    }
    // Exactly 64 KiB is fine.
    expect(await gw.eventCount()).toBe(before);
    const max = expectData(await put('acme', { namespace: 'ops', key: 'BIG', value: 'a'.repeat(64 * 1024) }));
    expect(max.putSecret.version).toBe(1);
  });

  it('deletes a secret (NOT_FOUND when there is none) and a re-created key continues the version count', async () => {
    expectData(await put('acme', { namespace: 'tmp', key: 'GONE', value: 'soon gone', description: 'x' }));
    expect(expectData(await gw.gql<{ deleteSecret: boolean }>(DELETE, { ns: 'tmp', key: 'GONE' }, { tenant: 'acme' })).deleteSecret).toBe(
      true,
    );
    expect(expectData(await list('acme', 'tmp')).secrets).toEqual([]);
    expect(await gw.app.vault.get('acme', 'tmp', 'GONE', 1)).toBeNull();

    const before = await gw.eventCount();
    expect(errorCode(await gw.gql(DELETE, { ns: 'tmp', key: 'GONE' }, { tenant: 'acme' }))).toBe('NOT_FOUND');
    expect(errorCode(await gw.gql(DELETE, { ns: 'tmp', key: 'bad-key' }, { tenant: 'acme' }))).toBe('BAD_USER_INPUT');
    expect(await gw.eventCount()).toBe(before);

    const again = expectData(await put('acme', { namespace: 'tmp', key: 'GONE', value: 'back' }));
    expect(again.putSecret).toMatchObject({ version: 2, description: null });
    const types = (await gw.app.events.readStream('acme/secret/tmp/GONE')).map((e) => [e.type, (e.data as { created?: boolean }).created]);
    expect(types).toEqual([
      ['SecretPut', true],
      ['SecretDeleted', undefined],
      ['SecretPut', true],
    ]);
  });

  it('deleteNamespace refuses while secrets remain; force deletes each secret by its own SecretDeleted', async () => {
    expectData(await gw.gql(`mutation { createNamespace(input: {id: "payments"}) { id } }`, {}, { tenant: 'acme' }));
    for (const key of ['A', 'B', 'C']) expectData(await put('acme', { namespace: 'payments', key, value: `value-${key}` }));
    const before = await gw.eventCount();
    expect(errorCode(await gw.gql(`mutation { deleteNamespace(id: "payments") { id } }`, {}, { tenant: 'acme' }))).toBe('CONFLICT');
    expect(await gw.eventCount()).toBe(before);

    expectData(await gw.gql(`mutation { deleteNamespace(id: "payments", force: true) { id existing } }`, {}, { tenant: 'acme' }));
    const written = await gw.app.events.readAll({ after: before });
    expect(written.map((e) => [e.type, (e.data as { key?: string }).key ?? (e.data as { id: string }).id])).toEqual([
      ['SecretDeleted', 'A'],
      ['SecretDeleted', 'B'],
      ['SecretDeleted', 'C'],
      ['NamespaceDeleted', 'payments'],
    ]);
    expect(expectData(await list('acme', 'payments')).secrets).toEqual([]);
    for (const key of ['A', 'B', 'C']) expect(await gw.app.vault.get('acme', 'payments', key, 1)).toBeNull();
  });

  it('refuses secrets in a namespace that was never created when the tenant requires existing namespaces', async () => {
    expectData(
      await gw.gql(
        `mutation { createTenant(input: {id: "strict", name: "Strict", adminUserId: "admin", requireExistingNamespace: true}) { id } }`,
      ),
    );
    const before = await gw.eventCount();
    const refused = await put('strict', { namespace: 'nowhere', key: 'K', value: 'v' });
    expect(errorCode(refused)).toBe('BAD_USER_INPUT');
    expect(refused.errors?.[0]?.extensions['field']).toBe('namespace');
    expect(await gw.eventCount()).toBe(before);
    expectData(await gw.gql(`mutation { createNamespace(input: {id: "somewhere"}) { id } }`, {}, { tenant: 'strict' }));
    expectData(await put('strict', { namespace: 'somewhere', key: 'K', value: 'v' }));
  });

  it('concurrent puts of one secret never share a version, and the current version holds the value of the put that named it', async () => {
    const values = Array.from({ length: 6 }, (_, i) => `concurrent-${i}`);
    const results = await Promise.all(values.map((value) => put('acme', { namespace: 'race', key: 'HOT', value })));
    const versions = results.map((r) => expectData(r).putSecret.version);
    expect(new Set(versions).size).toBe(values.length);
    const winner = Math.max(...versions);
    const winnerValue = values[versions.indexOf(winner)];
    const [current] = expectData(await list('acme', 'race')).secrets;
    expect(current?.version).toBe(winner);
    expect(await gw.app.vault.get('acme', 'race', 'HOT', winner)).toBe(winnerValue);
  });

  it('sixteen concurrent puts of one secret all succeed when the vault is slow (vault slowed in-test): no spurious CONFLICT', async () => {
    // Each put reads the stream, stores its value under the next version, then
    // appends with the revision it read. With a slow vault whose writes finish
    // out of order, a put that claimed a higher version appends first and the
    // others must claim again, during which another appends: unless one
    // process runs a secret's puts one at a time, some run out of retries.
    const vault = gw.app.vault;
    const realPut = vault.put.bind(vault);
    let calls = 0;
    vault.put = async (...args: Parameters<typeof realPut>) => {
      // Stored at once, answered 2–12 ms later, scrambled: a put that claimed a higher version often appends first.
      const stored = await realPut(...args);
      await new Promise((resolve) => setTimeout(resolve, 2 + ((calls++ * 7) % 11)));
      return stored;
    };
    try {
      const values = Array.from({ length: 16 }, (_, i) => `slow-${i}`);
      const results = await Promise.all(values.map((value) => put('acme', { namespace: 'race', key: 'SLOW', value })));
      const versions = results.map((r) => expectData(r).putSecret.version);
      expect(new Set(versions).size).toBe(values.length);
      const winner = Math.max(...versions);
      expect(await realGet('race', 'SLOW', winner)).toBe(values[versions.indexOf(winner)]);
    } finally {
      vault.put = realPut;
    }
  });

  it('answers a retried put (same Idempotency-Key) as the first time, writing neither an event nor a value again', async () => {
    const retry = () =>
      gw.gql<{ putSecret: SecretAnswer }>(
        PUT,
        { input: { namespace: 'retry', key: 'K', value: 'once' } },
        { tenant: 'acme', headers: { 'idempotency-key': 'put-retry-1' } },
      );
    const first = expectData(await retry()).putSecret;
    const count = await gw.eventCount();
    const second = expectData(await retry()).putSecret;
    expect(second.version).toBe(first.version);
    expect(await gw.eventCount()).toBe(count);
    expect(await gw.app.vault.get('acme', 'retry', 'K', first.version)).toBe('once');
    expect(await gw.app.vault.get('acme', 'retry', 'K', first.version + 1)).toBeNull();
  });

  it('skips a version left in the vault by a put whose event was never appended, and prunes it later', async () => {
    expectData(await put('acme', { namespace: 'orphans', key: 'K', value: 'first' }));
    // A put that stored version 2 and then died before its append.
    expect(await gw.app.vault.put('acme', 'orphans', 'K', 2, 'orphaned value')).toBe(true);
    expect(await gw.app.vault.put('acme', 'orphans', 'K', 2, 'overwrite attempt')).toBe(false);
    const next = expectData(await put('acme', { namespace: 'orphans', key: 'K', value: 'second' }));
    expect(next.putSecret.version).toBe(3);
    expect(await gw.app.vault.get('acme', 'orphans', 'K', 3)).toBe('second');
    expect(await gw.app.vault.get('acme', 'orphans', 'K', 2)).toBeNull();
  });

  describe('access control', () => {
    let mallory: string;
    let viewer: string;
    beforeAll(async () => {
      mallory = await createUserWithToken(gw, 'mallory');
      viewer = await createUserWithToken(gw, 'vera');
      // mallory administers a tenant of her own, and nothing in acme.
      expectData(await gw.gql(`mutation { createTenant(input: {id: "evil", name: "Evil", adminUserId: "mallory"}) { id } }`));
    });

    it('a caller from another tenant can neither list nor put secrets there, by path or by header', async () => {
      expectData(await put('evil', { namespace: 'company', key: 'MINE', value: 'v' }, mallory));
      const before = await gw.eventCount();
      expect(errorCode(await list('acme', 'company', true, mallory))).toBe('TENANT_NOT_FOUND');
      expect(errorCode(await put('acme', { namespace: 'company', key: 'DB_PASSWORD', value: 'hijack' }, mallory))).toBe('TENANT_NOT_FOUND');
      expect(errorCode(await gw.gql(DELETE, { ns: 'company', key: 'DB_PASSWORD' }, { tenant: 'acme', token: mallory }))).toBe(
        'TENANT_NOT_FOUND',
      );
      const byHeader = await gw.gql(LIST, { ns: 'company' }, { token: mallory, headers: { 'x-tenant-id': 'acme' } });
      expect(errorCode(byHeader)).toBe('TENANT_NOT_FOUND');
      expect(await gw.eventCount()).toBe(before);
      // Her own tenant shows her own secret only.
      expect(expectData(await list('evil', 'company', true, mallory)).secrets.map((s) => s.key)).toEqual(['MINE']);
      expect(await gw.app.vault.get('acme', 'company', 'DB_PASSWORD', 1)).toBe('pw-company');
    });

    it('a viewer bound on company.team lists there but cannot put, and does not see company secrets', async () => {
      await bind(gw, 'acme', { principalType: 'USER', principalId: 'vera', roleId: 'viewer', namespace: 'company.team' });
      const seen = expectData(await list('acme', 'company.team', true, viewer)).secrets;
      expect(seen.map((s) => [s.namespace, s.key])).toEqual([['company.team', 'API_KEY']]);
      expect(expectData(await list('acme', 'company', false, viewer)).secrets).toEqual([]);
      const before = await gw.eventCount();
      const refused = await put('acme', { namespace: 'company.team', key: 'API_KEY', value: 'x' }, viewer);
      expect(errorCode(refused)).toBe('FORBIDDEN');
      expect(refused.errors?.[0]?.extensions['permission']).toBe('SECRET:UPDATE');
      expect(errorCode(await put('acme', { namespace: 'company.team', key: 'NEW_ONE', value: 'x' }, viewer))).toBe('FORBIDDEN');
      expect(await gw.eventCount()).toBe(before);
    });
  });
});
