/**
 * "Secret values never leave the vault" (docs/secrets.md), shown end to end:
 * a value is put, listed, inherited, re-put, deleted with its tenant, sent in
 * every kind of refused request, and then searched for (as text, base64,
 * base64url and hex) in every GraphQL answer, the raw bytes of the event log
 * (`events.sqlite` and its `-wal`), every read-model collection (the audit
 * log included), the audit export, and everything the server logged at
 * level trace or wrote to stdout/stderr.
 */
import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/shared/logger.js';
import { ADMIN_TOKEN, errorCode, expectData, startTestGateway, type GqlResult, type TestGateway } from '../support/gateway.js';

const VALUE = `leak-canary-${randomUUID()}`;
const encodings = (value: string): Record<string, string> => ({
  text: value,
  base64: Buffer.from(value).toString('base64'),
  base64url: Buffer.from(value).toString('base64url'),
  hex: Buffer.from(value).toString('hex'),
});

/** Every occurrence of the value, in any encoding, in `haystack` (a string or raw bytes). */
function leaks(haystack: string | Buffer): string[] {
  const bytes = typeof haystack === 'string' ? Buffer.from(haystack) : haystack;
  return Object.entries(encodings(VALUE))
    .filter(([, encoded]) => bytes.includes(Buffer.from(encoded)) || bytes.includes(Buffer.from(encoded, 'utf8').toString('utf16le')))
    .map(([name]) => name);
}

const PUT = `mutation Put($input: PutSecretInput!) { putSecret(input: $input) { namespace key version description tags { key value } valueAvailable } }`;

describe('a secret value is in no answer, event, read model, audit entry or log line', () => {
  let gw: TestGateway;
  const logged: Buffer[] = [];
  const printed: string[] = [];
  const answers: string[] = [];
  const restore: (() => void)[] = [];

  const record = <T>(result: GqlResult<T>): GqlResult<T> => {
    answers.push(JSON.stringify(result));
    return result;
  };
  const gql = async <T = Record<string, unknown>>(query: string, variables: Record<string, unknown> = {}, tenant?: string) =>
    record(await gw.gql<T>(query, variables, tenant ? { tenant } : {}));

  beforeAll(async () => {
    for (const stream of [process.stdout, process.stderr]) {
      const write = stream.write.bind(stream);
      stream.write = (chunk: string | Uint8Array, ...rest: unknown[]) => {
        printed.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
        return (write as (...args: unknown[]) => boolean)(chunk, ...rest);
      };
      restore.push(() => {
        stream.write = write;
      });
    }
    const destination = new Writable({
      write(chunk: Buffer, _encoding, done) {
        logged.push(Buffer.from(chunk));
        done();
      },
    });
    gw = await startTestGateway({ eventStore: 'sqlite', logger: createLogger({ level: 'trace', destination }) });
  });

  afterAll(async () => {
    await gw.dispose();
    for (const undo of restore) undo();
  });

  it('runs the secret through its whole life, including refused requests', async () => {
    expectData(await gql(`mutation { createTenant(input: {id: "acme", name: "Acme", adminUserId: "admin"}) { id } }`));
    const put = (input: Record<string, unknown>, tenant = 'acme') => gql<{ putSecret: { version: number } }>(PUT, { input }, tenant);

    expectData(
      await put({
        namespace: 'company',
        key: 'DB_PASSWORD',
        value: VALUE,
        description: 'the database',
        tags: [{ key: 'env', value: 'prod' }],
      }),
    );
    expectData(
      await gql(
        `query { secrets(namespace: "company.team", includeInherited: true) { namespace key version valueAvailable inheritedFrom } }`,
        {},
        'acme',
      ),
    );
    expectData(await put({ namespace: 'company', key: 'DB_PASSWORD', value: `${VALUE}-rotated` }));
    expect(await gw.app.vault.get('acme', 'company', 'DB_PASSWORD', 2)).toBe(`${VALUE}-rotated`);

    const before = await gw.eventCount();
    // Oversized: the value repeated past 64 KiB. The error names the field, not the value.
    const oversized = await put({ namespace: 'company', key: 'BIG', value: VALUE.repeat(Math.ceil((64 * 1024) / VALUE.length) + 1) });
    expect(errorCode(oversized)).toBe('BAD_USER_INPUT');
    expect(oversized.errors?.[0]?.extensions['field']).toBe('value');
    // Bad key, bad namespace, unknown input field, a value of the wrong shape, a missing field.
    expect(errorCode(await put({ namespace: 'company', key: 'bad key!', value: VALUE }))).toBe('BAD_USER_INPUT');
    expect(errorCode(await put({ namespace: '..', key: 'K', value: VALUE }))).toBe('BAD_USER_INPUT');
    const unknownField = await put({ namespace: 'company', key: 'K', value: VALUE, bogus: true });
    expect(errorCode(unknownField)).toBe('BAD_USER_INPUT');
    // Still says what is wrong, without the input.
    expect(unknownField.errors?.[0]?.message).toMatch(
      /^Variable "\$input" got an invalid value; Field "bogus" is not defined by type "PutSecretInput"/,
    );
    const wrongShape = await put({ namespace: 'company', key: 'K', value: [VALUE] });
    expect(errorCode(wrongShape)).toBe('BAD_USER_INPUT');
    expect(wrongShape.errors?.[0]?.message).toBe(
      'Variable "$input" got an invalid value at "input.value"; String cannot represent a non string value.',
    );
    expect(errorCode(await put({ namespace: 'company', value: VALUE }))).toBe('BAD_USER_INPUT');
    expect(errorCode(await put({ namespace: 'company', key: 'K', value: VALUE, tags: VALUE }))).toBe('BAD_USER_INPUT');
    // The value written into the query text itself, with a field that does not exist.
    const inline = await gql(
      `mutation { putSecret(input: {namespace: "company", key: "K", value: "${VALUE}", nope: 1}) { key } }`,
      {},
      'acme',
    );
    expect(errorCode(inline)).toBe('BAD_USER_INPUT');
    for (const literal of [`tags: "${VALUE}"`, `description: ["${VALUE}"]`, `value: {v: "${VALUE}"}`]) {
      const wrongType = await gql(
        `mutation { putSecret(input: {namespace: "company", key: "K", value: "x", ${literal}}) { key } }`,
        {},
        'acme',
      );
      expect(errorCode(wrongType), literal).toBe('BAD_USER_INPUT');
    }
    // No tenant, unknown tenant, no token, a body over the gateway's limit.
    expect(errorCode(await gql(PUT, { input: { namespace: 'company', key: 'K', value: VALUE } }))).toBe('TENANT_NOT_FOUND');
    expect(errorCode(await put({ namespace: 'company', key: 'K', value: VALUE }, 'nope'))).toBe('TENANT_NOT_FOUND');
    record(await gw.gql(PUT, { input: { namespace: 'company', key: 'K', value: VALUE } }, { tenant: 'acme', token: null }));
    record(
      await gw.gql(PUT, { input: { namespace: 'company', key: 'K', value: VALUE } }, { tenant: 'acme', token: 'not-a-valid-token-at-all' }),
    );
    const huge = await fetch(`${gw.url}/api/v1/acme/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${ADMIN_TOKEN}` },
      body: JSON.stringify({ query: PUT, variables: { input: { namespace: 'company', key: 'HUGE', value: VALUE.repeat(40_000) } } }),
    });
    answers.push(await huge.text());
    expect(huge.status).toBe(413);
    expect(await gw.eventCount()).toBe(before);

    // Deleted tenant: refused, nothing written; after restore the value is shredded.
    expectData(await gql(`mutation { deleteTenant(id: "acme") { id deleted } }`));
    const afterDelete = await gw.eventCount();
    expect(errorCode(await put({ namespace: 'company', key: 'DB_PASSWORD', value: VALUE }))).toBe('TENANT_NOT_FOUND');
    expect(await gw.eventCount()).toBe(afterDelete);
    expectData(await gql(`mutation { restoreTenant(id: "acme") { id deleted } }`));
    const listed = expectData(
      await gql<{ secrets: { valueAvailable: boolean }[] }>(`{ secrets(namespace: "company") { key version valueAvailable } }`, {}, 'acme'),
    );
    expect(listed.secrets).toEqual([expect.objectContaining({ valueAvailable: false })]);

    // The audit log, over GraphQL and as an export.
    const audit = expectData(
      await gql<{ auditLogs: { edges: { node: { eventType: string } }[] } }>(
        `{ auditLogs(first: 200) { edges { node { eventType resourceId changes } } } }`,
        {},
        'acme',
      ),
    );
    expect(audit.auditLogs.edges.map((e) => e.node.eventType)).toContain('SecretPut');
    const exported = await fetch(`${gw.url}/api/v1/acme/audit-logs/export?format=ndjson`, {
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    });
    const exportText = await exported.text();
    expect(exported.status).toBe(200);
    expect(exportText).toContain('SecretPut');
    answers.push(exportText);
  });

  it('finds the value in no GraphQL answer or HTTP body', () => {
    expect(answers.length).toBeGreaterThan(15);
    for (const answer of answers) expect(leaks(answer), answer.slice(0, 300)).toEqual([]);
  });

  it('finds the value in neither events.sqlite nor its WAL, though the secret events are there', () => {
    const files = ['events.sqlite', 'events.sqlite-wal'].map((f) => path.join(gw.dataDir, f)).filter((f) => existsSync(f));
    expect(files.length).toBeGreaterThan(0);
    const bytes = Buffer.concat(files.map((f) => readFileSync(f)));
    expect(bytes.includes(Buffer.from('SecretPut'))).toBe(true);
    expect(bytes.includes(Buffer.from('DB_PASSWORD'))).toBe(true);
    expect(leaks(bytes)).toEqual([]);
  });

  it('finds the value in no read-model collection, the audit log included', async () => {
    const collections = await gw.app.documents.listCollections();
    expect(collections.some((c) => c.startsWith('auditLogs'))).toBe(true);
    expect(collections.some((c) => c.startsWith('secrets'))).toBe(true);
    let documents = 0;
    for (const name of collections) {
      const docs = await gw.app.documents.collection(name).find({});
      documents += docs.length;
      expect(leaks(JSON.stringify(docs)), name).toEqual([]);
    }
    expect(documents).toBeGreaterThan(10);
  });

  it('finds the value in no log line (level trace) and nothing printed', () => {
    const log = Buffer.concat(logged);
    // The log does speak of the secret (its metadata), and of the refused token.
    expect(log.toString()).toContain('"msg":"secret put"');
    expect(log.toString()).toContain('DB_PASSWORD');
    expect(log.toString()).toContain('authentication failed');
    expect(leaks(log)).toEqual([]);
    expect(leaks(printed.join(''))).toEqual([]);
  });

  it('keeps only ciphertext in the vault', async () => {
    if (gw.app.vault.kind === 'mongodb') {
      // Its collections live next to the read models and were searched with them.
      expect(await gw.app.documents.listCollections()).toContain('vault_secrets');
      return;
    }
    const files = ['vault.sqlite', 'vault.sqlite-wal'].map((f) => path.join(gw.dataDir, f)).filter((f) => existsSync(f));
    expect(files.length).toBeGreaterThan(0);
    expect(leaks(Buffer.concat(files.map((f) => readFileSync(f))))).toEqual([]);
  });
});
