import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, expectData, startTestGateway, type TestGateway } from '../support/gateway.js';
import { freePort } from '../support/process.js';
import { tenantryArgs } from '../support/tenantry-command.js';

/** Issue 14, "housekeeping": file modes, slow clients, the bootstrap token, 401 without a token, Idempotency-Key reuse. */

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    return entry.isDirectory() ? [full, ...filesUnder(full)] : [full];
  });
}

/** Resolves with how long the server took to close a connection that sends `text` and then nothing more. */
function closedAfter(port: number, text: string, limitMs: number): Promise<{ ms: number; answer: string }> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    let answer = '';
    const socket = connect(port, '127.0.0.1', () => socket.write(text));
    socket.on('data', (chunk) => (answer += chunk.toString()));
    socket.on('close', () => {
      clearTimeout(timer);
      resolve({ ms: Date.now() - started, answer });
    });
    socket.on('error', () => undefined);
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`the server kept a stalled connection open for ${limitMs} ms`));
    }, limitMs);
  });
}

describe('security: housekeeping', () => {
  let gw: TestGateway;
  let port: number;
  beforeAll(async () => {
    // The embedded vault in every run (beside MongoDB read models it would otherwise live in MongoDB): its file is checked too.
    gw = await startTestGateway({
      env: { TENANTRY_HEADERS_TIMEOUT_MS: '500', TENANTRY_REQUEST_TIMEOUT_MS: '1000', TENANTRY_VAULT: 'embedded' },
    });
    port = Number(new URL(gw.url).port);
    expectData(await gw.gql(`mutation { createTenant(input: {id: "acme", name: "Acme", adminUserId: "admin"}) { id } }`));
    expectData(await gw.gql(`mutation { createNamespace(input: {id: "company"}) { id } }`, {}, { tenant: 'acme' }));
    expectData(await gw.gql(`mutation { putSecret(input: {namespace: "company", key: "K", value: "v"}) { key } }`, {}, { tenant: 'acme' }));
  });
  afterAll(async () => {
    await gw.dispose();
  });

  it('every file the gateway created in the data dir is 0600 (directories 0700)', () => {
    const entries = filesUnder(gw.dataDir);
    expect(entries.some((f) => f.endsWith('events.sqlite'))).toBe(true);
    expect(entries.some((f) => f.endsWith('vault.sqlite'))).toBe(true);
    const open = entries
      .map((f) => ({ f: path.relative(gw.dataDir, f), mode: statSync(f).mode & 0o777, dir: statSync(f).isDirectory() }))
      .filter(({ mode, dir }) => (dir ? mode & 0o077 : mode & 0o177) !== 0);
    expect(open).toEqual([]);
  });

  it('request headers that trickle in are cut off (headersTimeout)', async () => {
    const { ms } = await closedAfter(port, 'POST /api/v1/graphql HTTP/1.1\r\nHost: localhost\r\nX-Slow: ', 20_000);
    expect(ms).toBeGreaterThanOrEqual(400);
  });

  it('a request body that trickles in is cut off (requestTimeout), with 408', async () => {
    const head = `POST /api/v1/graphql HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nAuthorization: Bearer ${ADMIN_TOKEN}\r\nContent-Length: 1000\r\n\r\n{"query":`;
    const { ms, answer } = await closedAfter(port, head, 20_000);
    expect(ms).toBeGreaterThanOrEqual(900);
    expect(answer).toMatch(/^HTTP\/1\.1 408/);
  });

  it('a request without a token answers HTTP 401', async () => {
    const response = await fetch(`${gw.url}/api/v1/acme/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: '{ namespaces { id } }' }),
    });
    expect(response.status).toBe(401);
    const body = (await response.json()) as { errors: { extensions: { code: string } }[] };
    expect(body.errors[0]?.extensions.code).toBe('UNAUTHENTICATED');
  });

  it('reusing an Idempotency-Key with a different request answers 422 and writes nothing; the same request is a retry', async () => {
    const send = (query: string, key: string) =>
      fetch(`${gw.url}/api/v1/acme/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${ADMIN_TOKEN}`, 'idempotency-key': key },
        body: JSON.stringify({ query }),
      });
    const first = await send(`mutation { createNamespace(input: {id: "one"}) { id } }`, 'key-1');
    expect(first.status).toBe(200);
    const before = await gw.eventCount();
    const retry = await send(`mutation { createNamespace(input: {id: "one"}) { id } }`, 'key-1');
    expect(((await retry.json()) as { data: unknown }).data).toEqual({ createNamespace: { id: 'one' } });
    for (const other of [
      `mutation { createNamespace(input: {id: "two"}) { id } }`,
      `mutation { updateNamespace(id: "one", input: {description: "changed"}) { id } }`,
    ]) {
      const reused = await send(other, 'key-1');
      expect(reused.status).toBe(422);
      const body = (await reused.json()) as { errors: { extensions: Record<string, unknown> }[] };
      expect(body.errors[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', reason: 'IDEMPOTENCY_KEY_REUSED' });
    }
    expect(await gw.eventCount()).toBe(before);
  });
});

describe('security: the generated bootstrap token never goes to the JSON log on stdout', () => {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'tenantry-bootstrap-'));
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it('stdout is JSON log lines without the token; stderr shows it once; its hash file is 0600', async () => {
    const port = await freePort();
    const env: Record<string, string | undefined> = { ...process.env, TENANTRY_DATA_DIR: dataDir, TENANTRY_PORT: String(port) };
    delete env['TENANTRY_ADMIN_TOKEN'];
    const child = spawn(process.execPath, tenantryArgs('serve'), {
      cwd: path.resolve(import.meta.dirname, '../..'),
      env: { ...env, TENANTRY_READ_MODELS: 'memory', TENANTRY_LOG_LEVEL: 'info' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    try {
      const deadline = Date.now() + 60_000;
      while (!stdout.includes('tenantry gateway listening')) {
        if (child.exitCode !== null || Date.now() > deadline) throw new Error(`the gateway did not start: ${stderr}`);
        await new Promise((r) => setTimeout(r, 100));
      }
      const token = /tnt_admin_[A-Za-z0-9_-]+/.exec(stderr)?.[0];
      expect(token, stderr).toBeDefined();
      expect(stdout).not.toContain('tnt_admin_');
      for (const line of stdout.split('\n').filter((l) => l.trim() !== '')) expect(() => JSON.parse(line) as unknown, line).not.toThrow();
      const me = await fetch(`http://127.0.0.1:${port}/api/v1/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify({ query: '{ me { id } }' }),
      });
      expect(me.status).toBe(200);
      expect(statSync(path.join(dataDir, 'admin-token.sha256')).mode & 0o777).toBe(0o600);
    } finally {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
    }
  }, 90_000);
});
