import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectData, startTestGateway, type TestGateway } from '../support/gateway.js';

/** Distinct millisecond timestamps between writes, so that "as of T" falls cleanly between two events. */
const tick = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 15));

describe('time travel (asOf): state replayed from the aggregate stream up to T', () => {
  let gw: TestGateway;
  const tenant = 'acme';
  const gql = <T>(query: string, variables: Record<string, unknown> = {}) => gw.gql<T>(query, variables, { tenant });

  beforeAll(async () => {
    gw = await startTestGateway();
    expectData(await gw.gql(`mutation { createTenant(input: {id: "acme", name: "Acme", adminUserId: "admin"}) { id } }`));
  });

  afterAll(async () => {
    await gw.dispose();
  });

  it('namespace(asOf: T) returns the variables as they were at T after several later updates', async () => {
    expectData(await gql(`mutation { createNamespace(input: {id: "company.team", description: "v0"}) { id } }`));
    const versions = [
      { env: 'dev', n: 1 },
      { env: 'staging', n: 2 },
      { env: 'prod', n: 3, extra: { nested: true } },
      { env: 'prod', n: 4 },
    ];
    const stamps: string[] = [];
    for (const [i, variables] of versions.entries()) {
      await tick();
      const updated = expectData(
        await gql<{ updateNamespace: { updatedAt: string; revision: number } }>(
          `mutation($v: JSON, $d: String) { updateNamespace(id: "company.team", input: {variables: $v, description: $d}) { updatedAt revision } }`,
          { v: variables, d: `v${i + 1}` },
        ),
      ).updateNamespace;
      stamps.push(updated.updatedAt);
      await tick();
    }
    const asOf = async (at: string) =>
      expectData(
        await gql<{ namespace: { variables: unknown; description: string; revision: number } | null }>(
          `query($at: DateTime) { namespace(id: "company.team", asOf: $at) { variables description revision } }`,
          { at },
        ),
      ).namespace;

    for (const [i, stamp] of stamps.entries()) {
      // Exactly at the update, and just after it (before the next one): the state after that update.
      expect(await asOf(stamp)).toEqual({ variables: versions[i], description: `v${i + 1}`, revision: i + 2 });
      const between = new Date(Date.parse(stamp) + 5).toISOString();
      expect(await asOf(between)).toEqual({ variables: versions[i], description: `v${i + 1}`, revision: i + 2 });
    }
    // Before the first update: the namespace as created; before its creation: nothing.
    const beforeFirst = new Date(Date.parse(stamps[0] ?? '') - 5).toISOString();
    expect(await asOf(beforeFirst)).toEqual({ variables: {}, description: 'v0', revision: 1 });
    expect(await asOf('2000-01-01T00:00:00Z')).toBeNull();
    // And the present is the last version.
    const now = expectData(await gql<{ namespace: { variables: unknown } }>(`{ namespace(id: "company.team") { variables } }`)).namespace;
    expect(now.variables).toEqual(versions.at(-1));
  });

  it('namespace(asOf) after a delete shows it as it was before the delete', async () => {
    expectData(await gql(`mutation { createNamespace(input: {id: "short.lived"}) { id } }`));
    await tick();
    const updated = expectData(
      await gql<{ updateNamespace: { updatedAt: string } }>(
        `mutation { updateNamespace(id: "short.lived", input: {variables: {a: 1}}) { updatedAt } }`,
      ),
    ).updateNamespace;
    await tick();
    expectData(await gql(`mutation { deleteNamespace(id: "short.lived") { id } }`));
    const at = new Date(Date.parse(updated.updatedAt) + 5).toISOString();
    const then = expectData(
      await gql<{ namespace: { variables: unknown } | null }>(
        `query($at: DateTime) { namespace(id: "short.lived", asOf: $at) { variables } }`,
        { at },
      ),
    );
    expect(then.namespace).toEqual({ variables: { a: 1 } });
    const now = expectData(await gql<{ namespace: { existing: boolean } | null }>(`{ namespace(id: "short.lived") { existing } }`));
    expect(now.namespace).toBeNull();
  });

  it('flow(asOf: T) returns the source and revision as they were at T', async () => {
    expectData(await gql(`mutation { createNamespace(input: {id: "flows"}) { id } }`));
    const source = (message: string) =>
      `id: etl\nnamespace: flows\ntasks:\n  - id: log\n    type: io.kestra.plugin.core.log.Log\n    message: ${message}\n`;
    await tick();
    expectData(await gql(`mutation($s: String!) { createFlow(source: $s) { id } }`, { s: source('one') }));
    const stamps: string[] = [];
    for (const message of ['two', 'three']) {
      await tick();
      const updated = expectData(
        await gql<{ updateFlow: { updatedAt: string } }>(
          `mutation($s: String!) { updateFlow(namespace: "flows", id: "etl", source: $s) { updatedAt } }`,
          {
            s: source(message),
          },
        ),
      ).updateFlow;
      stamps.push(updated.updatedAt);
    }
    await tick();
    const asOf = async (at: string) =>
      expectData(
        await gql<{ flow: { source: string; revision: number } | null }>(
          `query($at: DateTime) { flow(namespace: "flows", id: "etl", asOf: $at) { source revision } }`,
          { at },
        ),
      ).flow;
    const before = new Date(Date.parse(stamps[0] ?? '') - 5).toISOString();
    expect(await asOf(before)).toEqual({ source: source('one'), revision: 1 });
    expect(await asOf(stamps[0] ?? '')).toEqual({ source: source('two'), revision: 2 });
    expect(await asOf(new Date(Date.parse(stamps[1] ?? '') + 5).toISOString())).toEqual({ source: source('three'), revision: 3 });
  });

  it('role(asOf: T) and effectivePermissions(asOf: T) answer as of T after the role changed and the binding went away', async () => {
    expectData(
      await gql(`mutation { createRole(input: {id: "auditor", permissions: [{resource: "AUDITLOG", actions: ["VIEW"]}]}) { id } }`),
    );
    expectData(await gw.gql(`mutation { createUser(input: {id: "erin", email: "erin@example.com"}) { id } }`));
    const binding = expectData(
      await gql<{ createBinding: { id: string } }>(
        `mutation { createBinding(input: {principalType: USER, principalId: "erin", roleId: "auditor"}) { id } }`,
      ),
    ).createBinding;
    await tick();
    const first = new Date().toISOString();
    await tick();
    expectData(
      await gql(
        `mutation { updateRole(id: "auditor", input: {permissions: [{resource: "AUDITLOG", actions: ["VIEW", "LIST", "EXPORT"]}]}) { id } }`,
      ),
    );
    await tick();
    const second = new Date().toISOString();
    await tick();
    expectData(await gql(`mutation($id: ID!) { deleteBinding(id: $id) }`, { id: binding.id }));

    const role = async (at: string) =>
      expectData(
        await gql<{ role: { permissions: { resource: string; actions: string[] }[] } | null }>(
          `query($at: DateTime) { role(id: "auditor", asOf: $at) { permissions { resource actions } } }`,
          { at },
        ),
      ).role;
    expect((await role(first))?.permissions).toEqual([{ resource: 'AUDITLOG', actions: ['VIEW'] }]);
    expect((await role(second))?.permissions[0]?.actions.sort()).toEqual(['EXPORT', 'LIST', 'VIEW']);

    const permissions = async (at: string | null) =>
      expectData(
        await gql<{ effectivePermissions: { resource: string; action: string; via: string }[] }>(
          `query($at: DateTime) { effectivePermissions(principalId: "erin", asOf: $at) { resource action via } }`,
          { at },
        ),
      ).effectivePermissions;
    expect((await permissions(first)).map((p) => `${p.resource}:${p.action}`)).toEqual(['AUDITLOG:VIEW']);
    expect((await permissions(second)).map((p) => `${p.resource}:${p.action}`).sort()).toEqual([
      'AUDITLOG:EXPORT',
      'AUDITLOG:LIST',
      'AUDITLOG:VIEW',
    ]);
    expect((await permissions(second)).every((p) => p.via === `binding:${binding.id}`)).toBe(true);
    expect(await permissions(null)).toEqual([]);
  });
});
