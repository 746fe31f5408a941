/**
 * Tenants end to end: domain routing (a mapped Host on /api/v1/graphql picks
 * the tenant; a domain belongs to one tenant), soft delete (every
 * tenant-level operation answers TENANT_NOT_FOUND until restore), restore,
 * and crypto-shredding of secret values on delete.
 */
import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tenantDecider } from '../../src/aggregates/tenant/tenant.js';
import { tenantStream } from '../../src/application/tenants.js';
import { systemCaller } from '../../src/server/start.js';
import { bind, createUserWithToken } from '../support/access.js';
import { ADMIN_TOKEN, errorCode, expectData, startTestGateway, type GqlResult, type TestGateway } from '../support/gateway.js';

/** fetch() cannot set Host; a domain-routed request needs node:http. */
function gqlAtHost<T = Record<string, unknown>>(
  gw: TestGateway,
  host: string,
  query: string,
  path = '/api/v1/graphql',
): Promise<GqlResult<T>> {
  const body = JSON.stringify({ query });
  const url = new URL(gw.url);
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        hostname: url.hostname,
        port: url.port,
        path,
        method: 'POST',
        headers: {
          host,
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(body),
          authorization: `Bearer ${ADMIN_TOKEN}`,
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => {
          const parsed = JSON.parse(Buffer.concat(chunks).toString()) as Omit<GqlResult<T>, 'status'>;
          resolve({ status: res.statusCode ?? 0, data: parsed.data, errors: parsed.errors, extensions: parsed.extensions });
        });
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

const NAMESPACE_IDS = `{ namespaces { id } }`;
const namespaceIds = (result: GqlResult<{ namespaces: { id: string }[] }>): string[] => expectData(result).namespaces.map((n) => n.id);

describe('tenant domains', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startTestGateway();
    expectData(
      await gw.gql(
        `mutation { createTenant(input: {id: "acme", name: "Acme", adminUserId: "admin", domains: ["acme.example.com", "Tenantry.Acme.io"]}) { id domains } }`,
      ),
    );
    expectData(await gw.gql(`mutation { createTenant(input: {id: "beta", name: "Beta", adminUserId: "admin"}) { id } }`));
    expectData(await gw.gql(`mutation { createNamespace(input: {id: "acme.only"}) { id } }`, {}, { tenant: 'acme' }));
    expectData(await gw.gql(`mutation { createNamespace(input: {id: "beta.only"}) { id } }`, {}, { tenant: 'beta' }));
  });
  afterAll(async () => {
    await gw.dispose();
  });

  it('stores domains lower-cased and routes a mapped Host on /api/v1/graphql to its tenant', async () => {
    const tenant = expectData(await gw.gql<{ tenant: { domains: string[] } }>(`{ tenant(id: "acme") { domains } }`));
    expect(tenant.tenant.domains).toEqual(['acme.example.com', 'tenantry.acme.io']);
    for (const host of ['acme.example.com', 'acme.example.com:4000', 'ACME.Example.COM', 'tenantry.acme.io']) {
      expect(namespaceIds(await gqlAtHost(gw, host, NAMESPACE_IDS)), host).toEqual(['acme.only']);
    }
    // A mutation routed by Host lands in that tenant.
    expectData(await gqlAtHost(gw, 'acme.example.com', `mutation { createNamespace(input: {id: "by.host"}) { id } }`));
    expect(namespaceIds(await gw.gql(NAMESPACE_IDS, {}, { tenant: 'acme' }))).toEqual(['acme.only', 'by.host']);
  });

  it('lets the path and X-Tenant-Id win over the Host, and an unmapped Host selects no tenant', async () => {
    expect(namespaceIds(await gqlAtHost(gw, 'acme.example.com', NAMESPACE_IDS, '/api/v1/beta/graphql'))).toEqual(['beta.only']);
    expect(namespaceIds(await gw.gql(NAMESPACE_IDS, {}, { headers: { 'x-tenant-id': 'beta' } }))).toEqual(['beta.only']);
    expect(errorCode(await gqlAtHost(gw, 'unknown.example.com', NAMESPACE_IDS))).toBe('TENANT_NOT_FOUND');
    expect(errorCode(await gqlAtHost(gw, 'example.com', NAMESPACE_IDS))).toBe('TENANT_NOT_FOUND');
  });

  it('refuses a domain that belongs to another tenant, on create and on update, writing nothing', async () => {
    const before = await gw.eventCount();
    const create = await gw.gql(`mutation { createTenant(input: {id: "thief", name: "Thief", domains: ["ACME.example.com"]}) { id } }`);
    expect(errorCode(create)).toBe('CONFLICT');
    const steal = await gw.gql(`mutation { updateTenant(id: "beta", input: {domains: ["beta.example.com", "acme.example.com"]}) { id } }`);
    expect(errorCode(steal)).toBe('CONFLICT');
    expect(steal.errors?.[0]?.message).toContain('acme.example.com');
    expect(await gw.eventCount()).toBe(before);
    expect(namespaceIds(await gqlAtHost(gw, 'acme.example.com', NAMESPACE_IDS))).toEqual(['acme.only', 'by.host']);
    expect(errorCode(await gqlAtHost(gw, 'beta.example.com', NAMESPACE_IDS))).toBe('TENANT_NOT_FOUND');
  });

  it('refuses host names that are not host names', async () => {
    const before = await gw.eventCount();
    for (const bad of ['not a host', 'http://x.example.com', '-x.example.com', 'x_y.example.com']) {
      const result = await gw.gql(`mutation($d: [String!]) { updateTenant(id: "beta", input: {domains: $d}) { id } }`, {
        d: ['ok.example.com', bad],
      });
      expect(errorCode(result), bad).toBe('BAD_USER_INPUT');
      expect(result.errors?.[0]?.extensions['field']).toBe('domains[1]');
    }
    expect(await gw.eventCount()).toBe(before);
  });

  it('moves a domain once its owner releases it', async () => {
    expectData(await gw.gql(`mutation { updateTenant(id: "acme", input: {domains: ["tenantry.acme.io"]}) { domains } }`));
    expect(errorCode(await gqlAtHost(gw, 'acme.example.com', NAMESPACE_IDS))).toBe('TENANT_NOT_FOUND');
    expectData(await gw.gql(`mutation { updateTenant(id: "beta", input: {domains: ["acme.example.com"]}) { domains } }`));
    expect(namespaceIds(await gqlAtHost(gw, 'acme.example.com', NAMESPACE_IDS))).toEqual(['beta.only']);
    expect(namespaceIds(await gqlAtHost(gw, 'tenantry.acme.io', NAMESPACE_IDS))).toEqual(['acme.only', 'by.host']);
  });

  it('an invalid tenant id is TENANT_NOT_FOUND on update, with or without expectedRevision (not CONFLICT), and nothing is written', async () => {
    const before = await gw.app.events.headPosition();
    for (const expected of ['', ', expectedRevision: 3']) {
      const result = await gw.gql(`mutation { updateTenant(id: "NOT a tenant!"${expected}, input: {name: "x"}) { id } }`);
      expect(errorCode(result)).toBe('TENANT_NOT_FOUND');
    }
    expect(await gw.app.events.headPosition()).toBe(before);
  });

  it("stops routing a deleted tenant's domains, keeps them reserved for it, and routes them again after restore", async () => {
    expectData(await gw.gql(`mutation { deleteTenant(id: "acme") { deleted } }`));
    const refused = await gqlAtHost(gw, 'tenantry.acme.io', NAMESPACE_IDS);
    expect(errorCode(refused)).toBe('TENANT_NOT_FOUND');
    // Still acme's: a restore must not find its domains taken.
    expect(errorCode(await gw.gql(`mutation { updateTenant(id: "beta", input: {domains: ["tenantry.acme.io"]}) { id } }`))).toBe(
      'CONFLICT',
    );
    expectData(await gw.gql(`mutation { restoreTenant(id: "acme") { deleted } }`));
    expect(namespaceIds(await gqlAtHost(gw, 'tenantry.acme.io', NAMESPACE_IDS))).toEqual(['acme.only', 'by.host']);
  });
});

interface TypeRef {
  kind: string;
  name: string | null;
  ofType: TypeRef | null;
}
interface FieldInfo {
  name: string;
  args: { name: string; type: TypeRef; defaultValue: string | null }[];
  type: TypeRef;
}
interface TypeInfo {
  name: string;
  kind: string;
  inputFields: { name: string; type: TypeRef; defaultValue: string | null }[] | null;
  enumValues: { name: string }[] | null;
}

const TYPE_REF = `kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name } } } }`;
const INTROSPECTION = `{
  __schema {
    queryType { fields { name args { name defaultValue type { ${TYPE_REF} } } type { ${TYPE_REF} } } }
    mutationType { fields { name args { name defaultValue type { ${TYPE_REF} } } type { ${TYPE_REF} } } }
    types { name kind inputFields { name defaultValue type { ${TYPE_REF} } } enumValues { name } }
  }
}`;

/** Operations that exist without a tenant (instance level). Everything else must refuse a deleted tenant. */
const INSTANCE_LEVEL = new Set([
  'me',
  'tenants',
  'tenant',
  'users',
  'user',
  'createTenant',
  'updateTenant',
  'deleteTenant',
  'restoreTenant',
  'createUser',
  'updateUser',
  'disableUser',
  'enableUser',
  'deleteUser',
]);

/** Builds, for every field of the schema, an operation with made-up values for its required arguments. */
function operations(schema: { queryType: { fields: FieldInfo[] }; mutationType: { fields: FieldInfo[] }; types: TypeInfo[] }) {
  const types = new Map(schema.types.map((t) => [t.name, t] as const));
  const printType = (ref: TypeRef): string =>
    ref.kind === 'NON_NULL' ? `${printType(ref.ofType!)}!` : ref.kind === 'LIST' ? `[${printType(ref.ofType!)}]` : ref.name!;
  const named = (ref: TypeRef): TypeRef => (ref.ofType ? named(ref.ofType) : ref);
  const sample = (ref: TypeRef): unknown => {
    if (ref.kind === 'NON_NULL') return sample(ref.ofType!);
    if (ref.kind === 'LIST') return [];
    const type = types.get(ref.name!);
    if (type?.kind === 'ENUM') return type.enumValues?.[0]?.name;
    if (type?.kind === 'INPUT_OBJECT') {
      const required = (type.inputFields ?? []).filter((f) => f.type.kind === 'NON_NULL' && f.defaultValue === null);
      return Object.fromEntries(required.map((f) => [f.name, sample(f.type)]));
    }
    const scalars: Record<string, unknown> = {
      Int: 1,
      Float: 1,
      Boolean: false,
      DateTime: '2030-01-01T00:00:00Z',
      JSON: {},
      Position: '0',
    };
    return ref.name! in scalars ? scalars[ref.name!] : 'x';
  };
  const build = (kind: 'query' | 'mutation') => (field: FieldInfo) => {
    const required = field.args.filter((a) => a.type.kind === 'NON_NULL' && a.defaultValue === null);
    const variables = Object.fromEntries(required.map((a) => [a.name, sample(a.type)]));
    const declared = required.map((a) => `$${a.name}: ${printType(a.type)}`).join(', ');
    const passed = required.map((a) => `${a.name}: $${a.name}`).join(', ');
    const returned = types.get(named(field.type).name!);
    const selection = returned && ['OBJECT', 'INTERFACE', 'UNION'].includes(returned.kind) ? ' { __typename }' : '';
    const query = `${kind}${declared ? `(${declared})` : ''} { ${field.name}${passed ? `(${passed})` : ''}${selection} }`;
    return { name: field.name, kind, query, variables };
  };
  return [...schema.queryType.fields.map(build('query')), ...schema.mutationType.fields.map(build('mutation'))];
}

describe('soft delete and restore', () => {
  let gw: TestGateway;
  /** A user bound as admin in acme, but no instance admin. */
  let owner: string;
  beforeAll(async () => {
    gw = await startTestGateway();
    for (const id of ['acme', 'alive']) {
      expectData(await gw.gql(`mutation($id: ID!) { createTenant(input: {id: $id, name: "T", adminUserId: "admin"}) { id } }`, { id }));
    }
    expectData(await gw.gql(`mutation { createNamespace(input: {id: "company", description: "kept"}) { id } }`, {}, { tenant: 'acme' }));
    const put = `mutation($k: String!, $v: String!) { putSecret(input: {namespace: "company", key: $k, value: $v}) { version } }`;
    expectData(await gw.gql(put, { k: 'DB_PASSWORD', v: 'before-delete-1' }, { tenant: 'acme' }));
    expectData(await gw.gql(put, { k: 'DB_PASSWORD', v: 'before-delete-2' }, { tenant: 'acme' }));
    expectData(await gw.gql(put, { k: 'API_KEY', v: 'before-delete-3' }, { tenant: 'acme' }));
    owner = await createUserWithToken(gw, 'owner');
    await bind(gw, 'acme', { principalType: 'USER', principalId: 'owner', roleId: 'admin' });
  });
  afterAll(async () => {
    await gw.dispose();
  });

  it('refuses to delete main (BAD_USER_INPUT) and lets only instance admins delete', async () => {
    const before = await gw.eventCount();
    const main = await gw.gql(`mutation { deleteTenant(id: "main") { id } }`);
    expect(errorCode(main)).toBe('BAD_USER_INPUT');
    expect(main.errors?.[0]?.extensions['field']).toBe('id');
    expect(errorCode(await gw.gql(`mutation { deleteTenant(id: "acme") { id } }`, {}, { token: owner }))).toBe('FORBIDDEN');
    expect(errorCode(await gw.gql(`mutation { deleteTenant(id: "nope") { id } }`))).toBe('TENANT_NOT_FOUND');
    expect(errorCode(await gw.gql(`mutation { restoreTenant(id: "acme") { id } }`))).toBe('CONFLICT');
    expect(await gw.eventCount()).toBe(before);
  });

  it("lets a tenant's own admin rename it but not change its domains", async () => {
    const before = await gw.eventCount();
    const domains = await gw.gql(
      `mutation { updateTenant(id: "acme", input: {domains: ["mine.example.com"]}) { id } }`,
      {},
      { token: owner },
    );
    expect(errorCode(domains)).toBe('FORBIDDEN');
    expect(await gw.eventCount()).toBe(before);
    const renamed = await gw.gql<{ updateTenant: { name: string } }>(
      `mutation { updateTenant(id: "acme", input: {name: "Acme Inc."}) { name } }`,
      {},
      { token: owner },
    );
    expect(expectData(renamed).updateTenant.name).toBe('Acme Inc.');
  });

  it('hides a deleted tenant from `tenants` unless includeDeleted, and destroys its data key', async () => {
    expect(await gw.app.vault.keyedTenants()).toContain('acme');
    const deleted = expectData(
      await gw.gql<{ deleteTenant: { id: string; deleted: boolean } }>(`mutation { deleteTenant(id: "acme") { id deleted } }`),
    );
    expect(deleted.deleteTenant).toEqual({ id: 'acme', deleted: true });
    expect(await gw.app.vault.keyedTenants()).not.toContain('acme');
    expect(await gw.app.vault.get('acme', 'company', 'DB_PASSWORD', 2)).toBeNull();

    const visible = expectData(await gw.gql<{ tenants: { id: string }[] }>(`{ tenants { id } }`)).tenants.map((t) => t.id);
    expect(visible).toEqual(expect.arrayContaining(['main', 'alive']));
    expect(visible).not.toContain('acme');
    const all = expectData(
      await gw.gql<{ tenants: { id: string; deleted: boolean }[] }>(`{ tenants(includeDeleted: true) { id deleted } }`),
    ).tenants;
    expect(all).toContainEqual({ id: 'acme', deleted: true });
    expect(errorCode(await gw.gql(`mutation { deleteTenant(id: "acme") { id } }`))).toBe('TENANT_NOT_FOUND');
    // Its former members see nothing of it.
    expect(
      expectData(await gw.gql<{ tenants: { id: string }[] }>(`{ tenants(includeDeleted: true) { id } }`, {}, { token: owner })).tenants,
    ).toEqual([]);
    expect(expectData(await gw.gql<{ tenant: unknown }>(`{ tenant(id: "acme") { id } }`, {}, { token: owner })).tenant).toBeNull();
    expect(
      expectData(await gw.gql<{ me: { tenants: { id: string }[] } }>(`{ me { tenants { id } } }`, {}, { token: owner })).me.tenants,
    ).toEqual([]);
  });

  it('answers TENANT_NOT_FOUND to every tenant-level query and mutation, by path and by header, writing nothing', async () => {
    const schema = expectData(await gw.gql<{ __schema: Parameters<typeof operations>[0] }>(INTROSPECTION)).__schema;
    const tenantLevel = operations(schema).filter((op) => !INSTANCE_LEVEL.has(op.name));
    const names = tenantLevel.map((op) => op.name);
    expect(names).toEqual(
      expect.arrayContaining([
        'namespaces',
        'namespace',
        'secrets',
        'createNamespace',
        'updateNamespace',
        'deleteNamespace',
        'putSecret',
        'deleteSecret',
      ]),
    );

    // On a live tenant none of these says TENANT_NOT_FOUND: the answer below is the deletion's doing.
    for (const op of tenantLevel) {
      expect(errorCode(await gw.gql(op.query, op.variables, { tenant: 'alive' })), `${op.name} on a live tenant`).not.toBe(
        'TENANT_NOT_FOUND',
      );
    }
    const before = await gw.eventCount();
    for (const op of tenantLevel) {
      expect(errorCode(await gw.gql(op.query, op.variables, { tenant: 'acme' })), `${op.name} by path`).toBe('TENANT_NOT_FOUND');
      expect(errorCode(await gw.gql(op.query, op.variables, { headers: { 'x-tenant-id': 'acme' } })), `${op.name} by header`).toBe(
        'TENANT_NOT_FOUND',
      );
    }
    expect(await gw.eventCount()).toBe(before);
  });

  it('restores metadata but not secret values; a new put makes a new data key and works', async () => {
    const restored = expectData(
      await gw.gql<{ restoreTenant: { deleted: boolean } }>(`mutation { restoreTenant(id: "acme") { deleted } }`),
    );
    expect(restored.restoreTenant.deleted).toBe(false);
    expect(expectData(await gw.gql<{ tenants: { id: string }[] }>(`{ tenants { id } }`)).tenants.map((t) => t.id)).toContain('acme');
    const ns = expectData(
      await gw.gql<{ namespace: { description: string } }>(`{ namespace(id: "company") { description } }`, {}, { tenant: 'acme' }),
    );
    expect(ns.namespace.description).toBe('kept');

    const LIST = `{ secrets(namespace: "company") { key version valueAvailable } }`;
    const listed = expectData(
      await gw.gql<{ secrets: { key: string; version: number; valueAvailable: boolean }[] }>(LIST, {}, { tenant: 'acme' }),
    );
    expect(listed.secrets).toEqual([
      { key: 'API_KEY', version: 1, valueAvailable: false },
      { key: 'DB_PASSWORD', version: 2, valueAvailable: false },
    ]);

    const put = await gw.gql<{ putSecret: { version: number; valueAvailable: boolean } }>(
      `mutation { putSecret(input: {namespace: "company", key: "DB_PASSWORD", value: "after-restore"}) { version valueAvailable } }`,
      {},
      { tenant: 'acme' },
    );
    expect(expectData(put).putSecret).toEqual({ version: 3, valueAvailable: true });
    expect(await gw.app.vault.get('acme', 'company', 'DB_PASSWORD', 3)).toBe('after-restore');
    const after = expectData(await gw.gql<{ secrets: { key: string; valueAvailable: boolean }[] }>(LIST, {}, { tenant: 'acme' }));
    expect(after.secrets.map((s) => [s.key, s.valueAvailable])).toEqual([
      ['API_KEY', false],
      ['DB_PASSWORD', true],
    ]);
  });

  it('a put that raced the delete (tenant still active in the read model) destroys the key it used and writes nothing', async () => {
    expectData(
      await gw.gql(`mutation { putSecret(input: {namespace: "company", key: "RACE", value: "v"}) { version } }`, {}, { tenant: 'alive' }),
    );
    const tenants = gw.app.projections.runner('tenants');
    await tenants.stop();
    try {
      // The delete's event is in the log; the read model the put checks first has not seen it yet.
      await gw.app.commands.handle(tenantDecider, tenantStream('alive'), {
        type: 'DeleteTenant',
        data: { id: 'alive' },
        metadata: systemCaller(gw.app).commandMetadata('alive'),
      });
      const before = await gw.eventCount();
      const raced = await gw.gql(
        `mutation { putSecret(input: {namespace: "company", key: "RACE", value: "late"}) { version } }`,
        {},
        { tenant: 'alive' },
      );
      expect(errorCode(raced)).toBe('TENANT_NOT_FOUND');
      expect(await gw.eventCount()).toBe(before);
      expect(await gw.app.vault.keyedTenants()).not.toContain('alive');
    } finally {
      tenants.start();
    }
  });
});

describe('crypto-shredding survives a crash between the delete and the key destruction', () => {
  it('destroys the data keys of deleted tenants when the gateway starts', async () => {
    // The sweep reads only the vault and the event log. In-memory read models (and so the embedded vault, a
    // file in the data dir that survives the restart) keep this test clear of the read-model runtime's restart path.
    const first = await startTestGateway({ readModels: 'memory' });
    try {
      expectData(await first.gql(`mutation { createTenant(input: {id: "crashy", name: "Crashy", adminUserId: "admin"}) { id } }`));
      expectData(
        await first.gql(`mutation { putSecret(input: {namespace: "ns", key: "K", value: "v"}) { version } }`, {}, { tenant: 'crashy' }),
      );
      // TenantDeleted reaches the log, then the process dies before TenantService destroys the key.
      await first.app.execute(tenantDecider, tenantStream('crashy'), {
        type: 'DeleteTenant',
        data: { id: 'crashy' },
        metadata: systemCaller(first.app).commandMetadata('crashy'),
      });
      expect(await first.app.vault.keyedTenants()).toContain('crashy');
      expect(await first.app.vault.get('crashy', 'ns', 'K', 1)).toBe('v');
    } finally {
      await first.stop();
    }
    const second = await startTestGateway({ dataDir: first.dataDir, readModels: 'memory' });
    try {
      expect(await second.app.vault.keyedTenants()).not.toContain('crashy');
      expect(await second.app.vault.get('crashy', 'ns', 'K', 1)).toBeNull();
      expect(errorCode(await second.gql(`{ secrets(namespace: "ns") { key } }`, {}, { tenant: 'crashy' }))).toBe('TENANT_NOT_FOUND');
    } finally {
      await second.dispose();
      const { rmSync } = await import('node:fs');
      rmSync(first.dataDir, { recursive: true, force: true });
    }
  });
});
