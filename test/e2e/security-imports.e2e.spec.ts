import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exportTenant, importTenant } from '../../src/application/tenant-transfer.js';
import { createUserWithToken } from '../support/access.js';
import { ADMIN_TOKEN, errorCode, expectData, startTestGateway, type TestGateway } from '../support/gateway.js';
import { runCli } from '../support/process.js';

/**
 * Issue 14, "imports are untrusted input": an events export is a file anyone
 * could have edited. Whatever it holds, an import writes only the target
 * tenant's own streams, refuses instance-level events before it writes
 * anything, and a fork never takes the source's domains.
 */

const source = (lines: string[]) => () =>
  (async function* () {
    yield* lines;
  })();

async function exported(gw: TestGateway, tenant: string): Promise<string[]> {
  const lines: string[] = [];
  for await (const line of exportTenant(gw.app, tenant)) lines.push(line.trimEnd());
  return lines;
}

/** An event line as an attacker would append it to a genuine export. */
function forged(base: string, patch: Record<string, unknown>): string {
  const event = JSON.parse(base) as Record<string, unknown>;
  return JSON.stringify({ ...event, id: `forged-${String(patch['streamName'])}`, streamRevision: 0, ...patch });
}

describe('security: imports are untrusted input', () => {
  let gw: TestGateway;
  let genuine: string[];
  beforeAll(async () => {
    gw = await startTestGateway();
    expectData(
      await gw.gql(
        `mutation { createTenant(input: {id: "acme", name: "Acme", adminUserId: "admin", domains: ["acme.example.com"]}) { id } }`,
      ),
    );
    expectData(await gw.gql(`mutation { createNamespace(input: {id: "company"}) { id } }`, {}, { tenant: 'acme' }));
    expectData(await gw.gql(`mutation { updateTenant(id: "acme", input: {domains: ["acme.example.com", "ops.acme.io"]}) { id } }`));
    genuine = await exported(gw, 'acme');
  });
  afterAll(async () => {
    const dataDir = gw.dataDir;
    await gw.dispose();
    rmSync(dataDir, { recursive: true, force: true });
  });

  const refusals: [string, (lines: string[]) => string[]][] = [
    [
      'a UserCreated making an instance admin, in a stream of the tenant',
      (lines) => [
        ...lines,
        forged(lines[1]!, {
          streamName: 'acme/user/mallory',
          type: 'UserCreated',
          data: { id: 'mallory', email: 'm@evil.test', name: 'm', instanceAdmin: true },
        }),
      ],
    ],
    [
      'a UserCreated in a tenant category stream',
      (lines) => [
        ...lines,
        forged(lines[1]!, {
          streamName: 'acme/binding/x',
          type: 'UserCreated',
          data: { id: 'mallory', email: 'm@evil.test', name: 'm', instanceAdmin: true },
        }),
      ],
    ],
    [
      'the instance scope as the source tenant',
      (lines) => [
        JSON.stringify({ ...(JSON.parse(lines[0]!) as object), tenantId: '_instance' }),
        forged(lines[1]!, {
          streamName: '_instance/user/mallory',
          type: 'UserCreated',
          data: { id: 'mallory', email: 'm@evil.test', name: 'm', instanceAdmin: true },
        }),
      ],
    ],
    [
      "another tenant's stream",
      (lines) => [
        ...lines,
        forged(lines[1]!, {
          streamName: 'main/binding/evil',
          type: 'BindingCreated',
          data: { id: 'evil', principalType: 'USER', principalId: 'mallory', roleId: 'admin', namespace: null },
        }),
      ],
    ],
    [
      'an event type no tenant stream is written with',
      (lines) => [...lines, forged(lines[1]!, { streamName: 'acme/flow/company/x', type: 'InstanceAdminGranted', data: { id: 'x' } })],
    ],
  ];

  it.each(refusals)('refuses %s, before anything is written', async (_name, tamper) => {
    const before = await gw.eventCount();
    await expect(importTenant(gw.app, 'fork', source(tamper(genuine)))).rejects.toMatchObject({
      code: 'BAD_USER_INPUT',
      message: expect.stringMatching(/line \d+/),
    });
    expect(await gw.eventCount()).toBe(before);
    expect(errorCode(await gw.gql(`{ namespaces { id } }`, {}, { tenant: 'fork' }))).toBe('TENANT_NOT_FOUND');
    const users = expectData(await gw.gql<{ users: { id: string }[] }>(`{ users { id } }`));
    expect(users.users.map((u) => u.id)).not.toContain('mallory');
  });

  it('a fork does not take the source tenant domains; the domains keep routing to the source', async () => {
    await importTenant(gw.app, 'acme-fork', source(genuine));
    const tenants = expectData(await gw.gql<{ tenants: { id: string; domains: string[] }[] }>(`{ tenants { id domains } }`));
    expect(tenants.tenants.find((t) => t.id === 'acme-fork')?.domains).toEqual([]);
    expect(tenants.tenants.find((t) => t.id === 'acme')?.domains).toEqual(['acme.example.com', 'ops.acme.io']);
    // The namespaces came across.
    expect(expectData(await gw.gql(`{ namespaces { id } }`, {}, { tenant: 'acme-fork' }))).toEqual({ namespaces: [{ id: 'company' }] });
  });

  it('the CLI refuses a tampered export with nothing written, and imports a genuine one without its domains', async () => {
    await createUserWithToken(gw, 'someone');
    const dataDir = gw.dataDir;
    const head = await gw.eventCount();
    await gw.stop();
    const env = { TENANTRY_DATA_DIR: dataDir, TENANTRY_READ_MODELS: 'memory', TENANTRY_ADMIN_TOKEN: ADMIN_TOKEN };
    const tampered = refusals[0]![1](genuine).join('\n');
    const bad = await runCli(['events', 'import', '--tenant', 'cli-fork'], env, 60_000, tampered);
    expect(bad.code, bad.stderr).not.toBe(0);
    expect(bad.stderr).toMatch(/instance-level events are never imported/);
    const good = await runCli(['events', 'import', '--tenant', 'cli-fork'], env, 60_000, genuine.join('\n'));
    expect(good, good.stderr).toMatchObject({ code: 0 });
    expect(good.stderr).toMatch(/domains are not carried over/);

    gw = await startTestGateway({ dataDir });
    expect(await gw.eventCount()).toBeGreaterThan(head);
    const tenants = expectData(await gw.gql<{ tenants: { id: string; domains: string[] }[] }>(`{ tenants { id domains } }`));
    expect(tenants.tenants.find((t) => t.id === 'cli-fork')?.domains).toEqual([]);
    const users = expectData(await gw.gql<{ users: { id: string }[] }>(`{ users { id } }`));
    expect(users.users.map((u) => u.id)).not.toContain('mallory');
  }, 150_000);
});
