/**
 * Issue 18, complete lifecycles: users, groups and service accounts are read
 * one by one, updated, disabled, enabled and deleted over GraphQL, each change
 * with its audit entry; every refusal (not found, forbidden, conflict, bad
 * input) writes nothing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTenant, createUserWithToken } from '../support/access.js';
import { errorCode, expectData, startTestGateway, type GqlResult, type TestGateway } from '../support/gateway.js';

interface AuditNode {
  eventType: string;
  action: string;
  resourceId: string;
  changes: Record<string, { before: unknown; after: unknown }> | null;
  actor: { id: string };
}

describe('governance lifecycles', () => {
  let gw: TestGateway;

  beforeAll(async () => {
    gw = await startTestGateway();
    await createTenant(gw, 'gov');
  });
  afterAll(async () => {
    await gw.dispose();
  });

  /** The audit entries of one resource, oldest first. */
  async function auditOf(tenant: string | null, resourceType: string, resourceId: string): Promise<AuditNode[]> {
    const result = await gw.gql<{ auditLogs: { edges: { node: AuditNode }[] } }>(
      `query($f: AuditLogFilter) { auditLogs(filter: $f, first: 200) { edges { node { eventType action resourceId changes actor { id } } } } }`,
      { f: { resourceType, resourceId } },
      { tenant },
    );
    return expectData(result)
      .auditLogs.edges.map((e) => e.node)
      .reverse();
  }

  /** Runs a refused mutation: the expected code, and not one event written. */
  async function refused(code: string, run: () => Promise<GqlResult<unknown>>): Promise<GqlResult<unknown>> {
    const before = await gw.eventCount();
    const result = await run();
    expect(result.errors?.[0]?.extensions.code, JSON.stringify(result.errors)).toBe(code);
    expect(await gw.eventCount()).toBe(before);
    return result;
  }

  describe('users', () => {
    const USER = `id email name disabled revision createdAt updatedAt`;

    it('user(id): instance admins read anyone, a user reads itself, others are refused', async () => {
      const token = await createUserWithToken(gw, 'uma');
      await createUserWithToken(gw, 'ulf');
      const byAdmin = expectData(
        await gw.gql<{ user: { id: string; disabled: boolean; revision: number } }>(`{ user(id: "uma") { ${USER} } }`),
      );
      expect(byAdmin.user).toMatchObject({ id: 'uma', email: 'uma@example.com', disabled: false, revision: 1 });
      expect(expectData(await gw.gql<{ user: { id: string } }>(`{ user(id: "uma") { id } }`, {}, { token })).user.id).toBe('uma');
      expect(errorCode(await gw.gql(`{ user(id: "ulf") { id } }`, {}, { token }))).toBe('FORBIDDEN');
      expect(expectData(await gw.gql(`{ user(id: "nobody") { id } }`)).user).toBeNull();
    });

    it('updateUser changes e-mail and name, audited with before and after; refusals write nothing', async () => {
      const token = await createUserWithToken(gw, 'ugo');
      const updated = expectData(
        await gw.gql<{ updateUser: { email: string; name: string | null; revision: number } }>(
          `mutation { updateUser(id: "ugo", input: {email: "Ugo@Example.org", name: "Ugo B."}, expectedRevision: 1) { ${USER} } }`,
        ),
      ).updateUser;
      expect(updated).toMatchObject({ email: 'ugo@example.org', name: 'Ugo B.', revision: 2 });
      const entries = await auditOf(null, 'USER', 'ugo');
      expect(entries.at(-1)).toMatchObject({
        eventType: 'UserUpdated',
        action: 'UPDATE',
        changes: { email: { before: 'ugo@example.com', after: 'ugo@example.org' }, name: { before: 'ugo', after: 'Ugo B.' } },
      });
      await refused('CONFLICT', () => gw.gql(`mutation { updateUser(id: "ugo", input: {name: "x"}, expectedRevision: 1) { id } }`)).then(
        (r) => expect(r.errors?.[0]?.extensions['actualRevision']).toBe(2),
      );
      await refused('BAD_USER_INPUT', () => gw.gql(`mutation { updateUser(id: "ugo", input: {email: "not-an-address"}) { id } }`));
      await refused('NOT_FOUND', () => gw.gql(`mutation { updateUser(id: "nobody", input: {name: "x"}) { id } }`));
      await refused('FORBIDDEN', () => gw.gql(`mutation { updateUser(id: "ugo", input: {name: "me"}) { id } }`, {}, { token }));
    });

    it('disableUser stops its API token at once, enableUser lets it back; both audited; the built-in admin stays', async () => {
      const token = await createUserWithToken(gw, 'ula');
      expect((await gw.gql(`{ me { id } }`, {}, { token })).status).toBe(200);
      const disabled = expectData(
        await gw.gql<{ disableUser: { disabled: boolean; revision: number } }>(
          `mutation { disableUser(id: "ula", expectedRevision: 1) { ${USER} } }`,
        ),
      ).disableUser;
      expect(disabled).toMatchObject({ disabled: true, revision: 2 });
      const refusedToken = await gw.gql(`{ me { id } }`, {}, { token });
      expect(refusedToken.status).toBe(401);
      expect(errorCode(refusedToken)).toBe('UNAUTHENTICATED');
      expect(expectData(await gw.gql<{ user: { disabled: boolean } }>(`{ user(id: "ula") { disabled } }`)).user.disabled).toBe(true);
      // Disabling twice changes nothing.
      const count = await gw.eventCount();
      expectData(await gw.gql(`mutation { disableUser(id: "ula") { id } }`));
      expect(await gw.eventCount()).toBe(count);

      await refused('CONFLICT', () => gw.gql(`mutation { enableUser(id: "ula", expectedRevision: 1) { id } }`));
      expect(
        expectData(
          await gw.gql<{ enableUser: { disabled: boolean } }>(`mutation { enableUser(id: "ula", expectedRevision: 2) { disabled } }`),
        ).enableUser.disabled,
      ).toBe(false);
      expect((await gw.gql(`{ me { id } }`, {}, { token })).status).toBe(200);
      expect((await auditOf(null, 'USER', 'ula')).map((e) => `${e.eventType}:${e.action}`)).toEqual([
        'UserCreated:CREATE',
        'UserDisabled:UPDATE',
        'UserEnabled:UPDATE',
      ]);

      await refused('BAD_USER_INPUT', () => gw.gql(`mutation { disableUser(id: "admin") { id } }`));
      await refused('NOT_FOUND', () => gw.gql(`mutation { disableUser(id: "nobody") { id } }`));
      const other = await createUserWithToken(gw, 'uno');
      await refused('FORBIDDEN', () => gw.gql(`mutation { disableUser(id: "ula") { id } }`, {}, { token: other }));
      await refused('FORBIDDEN', () => gw.gql(`mutation { enableUser(id: "ula") { id } }`, {}, { token: other }));
    });

    it('deleteUser with expectedRevision: stale is CONFLICT, right deletes (audited)', async () => {
      await createUserWithToken(gw, 'uri');
      await refused('CONFLICT', () => gw.gql(`mutation { deleteUser(id: "uri", expectedRevision: 5) }`));
      expect(expectData(await gw.gql(`mutation { deleteUser(id: "uri", expectedRevision: 1) }`)).deleteUser).toBe(true);
      expect((await auditOf(null, 'USER', 'uri')).at(-1)).toMatchObject({ eventType: 'UserDeleted', action: 'DELETE' });
      expect(expectData(await gw.gql(`{ user(id: "uri") { id } }`)).user).toBeNull();
    });
  });
});
