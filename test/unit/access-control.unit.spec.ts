import { describe, expect, it } from 'vitest';
import { apiTokenDecider, type ApiTokenState } from '../../src/aggregates/api-token/api-token.js';
import { groupDecider, type GroupEvent } from '../../src/aggregates/group/group.js';
import { roleDecider, validatePermissions } from '../../src/aggregates/role/role.js';
import { issueApiTokenSecret, parseApiToken, secretMatches } from '../../src/auth/api-tokens.js';
import { Access, grantsFor, NO_ACCESS_DATA, type AccessData } from '../../src/auth/authorizer.js';
import { DomainError } from '../../src/shared/errors.js';
import { commandMetadata } from '../support/decider.js';

const metadata = commandMetadata({
  commandId: 'c1',
  actor: { type: 'USER', id: 'admin' },
  now: '2026-01-01T00:00:00.000Z',
  correlationId: 'k1',
});

const refusal = (fn: () => unknown): { code: string; field?: unknown } => {
  try {
    fn();
  } catch (error) {
    if (error instanceof DomainError) return { code: error.code, field: error.extensions['field'] };
    throw error;
  }
  throw new Error('expected a refusal');
};

describe('role permissions', () => {
  it('are stored in canonical order, actions deduplicated', () => {
    expect(
      validatePermissions([
        { resource: 'FLOW', actions: ['LIST', 'VIEW', 'LIST'] },
        { resource: 'NAMESPACE', actions: ['VIEW'] },
        { resource: 'AUDITLOG', actions: ['EXPORT'] },
      ]),
    ).toEqual([
      { resource: 'NAMESPACE', actions: ['VIEW'] },
      { resource: 'FLOW', actions: ['VIEW', 'LIST'] },
      { resource: 'AUDITLOG', actions: ['EXPORT'] },
    ]);
  });

  it('refuse unknown resources, actions a resource does not have, duplicates and empty action lists, naming the field', () => {
    expect(refusal(() => validatePermissions([{ resource: 'PIZZA', actions: ['VIEW'] }]))).toEqual({
      code: 'BAD_USER_INPUT',
      field: 'permissions[0].resource',
    });
    expect(refusal(() => validatePermissions([{ resource: 'FLOW', actions: ['VIEW', 'EXPORT'] }]))).toEqual({
      code: 'BAD_USER_INPUT',
      field: 'permissions[0].actions[1]',
    });
    expect(
      refusal(() =>
        validatePermissions([
          { resource: 'FLOW', actions: ['VIEW'] },
          { resource: 'FLOW', actions: ['LIST'] },
        ]),
      ),
    ).toEqual({ code: 'BAD_USER_INPUT', field: 'permissions[1].resource' });
    expect(refusal(() => validatePermissions([{ resource: 'FLOW', actions: [] }]))).toEqual({
      code: 'BAD_USER_INPUT',
      field: 'permissions[0].actions',
    });
  });

  it('managed roles cannot be created, updated or deleted; an update that only reorders writes nothing', () => {
    const absent = roleDecider.initialState();
    expect(refusal(() => roleDecider.decide({ type: 'CreateRole', data: { id: 'viewer', permissions: [] }, metadata }, absent)).code).toBe(
      'CONFLICT',
    );
    expect(
      refusal(() => roleDecider.decide({ type: 'UpdateRole', data: { id: 'admin', patch: { name: 'x' } }, metadata }, absent)),
    ).toEqual({
      code: 'BAD_USER_INPUT',
      field: 'id',
    });
    expect(refusal(() => roleDecider.decide({ type: 'DeleteRole', data: { id: 'editor' }, metadata }, absent)).code).toBe('BAD_USER_INPUT');
    const [created] = roleDecider.decide(
      { type: 'CreateRole', data: { id: 'ops', permissions: [{ resource: 'FLOW', actions: ['VIEW', 'LIST'] }] }, metadata },
      absent,
    );
    if (!created) throw new Error('no event');
    expect(created.data).toMatchObject({ id: 'ops', name: 'ops', description: null });
    const state = roleDecider.evolve(absent, created);
    const reordered = roleDecider.decide(
      { type: 'UpdateRole', data: { id: 'ops', patch: { permissions: [{ resource: 'FLOW', actions: ['LIST', 'VIEW'] }] } }, metadata },
      state,
    );
    expect(reordered).toEqual([]);
  });
});

describe('group membership', () => {
  it('adds once, removes members only', () => {
    let state = groupDecider.initialState();
    const apply = (events: GroupEvent[]) => (state = events.reduce((s, e) => groupDecider.evolve(s, e), state));
    apply(groupDecider.decide({ type: 'CreateGroup', data: { id: 'ops' }, metadata }, state));
    apply(groupDecider.decide({ type: 'AddGroupMember', data: { id: 'ops', userId: 'bob' }, metadata }, state));
    expect(groupDecider.decide({ type: 'AddGroupMember', data: { id: 'ops', userId: 'bob' }, metadata }, state)).toEqual([]);
    expect(
      refusal(() => groupDecider.decide({ type: 'RemoveGroupMember', data: { id: 'ops', userId: 'eve' }, metadata }, state)).code,
    ).toBe('NOT_FOUND');
    apply(groupDecider.decide({ type: 'RemoveGroupMember', data: { id: 'ops', userId: 'bob' }, metadata }, state));
    expect(state).toMatchObject({ status: 'active', members: [] });
  });
});

describe('API tokens', () => {
  const issued = issueApiTokenSecret('0f8e7a3c-1d2b-4c5d-8e9f-0a1b2c3d4e5f');

  it('are tnt_<id>_<secret>, and only the salted hash matches the secret', () => {
    const parsed = parseApiToken(issued.token);
    expect(parsed?.id).toBe('0f8e7a3c-1d2b-4c5d-8e9f-0a1b2c3d4e5f');
    expect(secretMatches(parsed?.secret ?? '', issued)).toBe(true);
    expect(secretMatches(`${(parsed?.secret ?? '').slice(0, -1)}x`, issued)).toBe(false);
    expect(issued.secretHash).not.toContain(parsed?.secret ?? '');
    expect(parseApiToken('eyJhbGciOiJIUzI1NiJ9.e30.sig')).toBeNull();
    expect(issueApiTokenSecret('0f8e7a3c-1d2b-4c5d-8e9f-0a1b2c3d4e5f').secretSalt).not.toBe(issued.secretSalt);
  });

  it('expire expiresIn seconds after the command, within bounds; revoking twice writes once', () => {
    const data = {
      id: 't1',
      name: 'ci',
      principalType: 'USER' as const,
      principalId: 'bob',
      secretSalt: issued.secretSalt,
      secretHash: issued.secretHash,
    };
    const [created] = apiTokenDecider.decide(
      { type: 'CreateApiToken', data: { ...data, expiresIn: 3600 }, metadata },
      apiTokenDecider.initialState(),
    );
    expect(created?.data).toMatchObject({ expiresAt: '2026-01-01T01:00:00.000Z' });
    expect(
      refusal(() =>
        apiTokenDecider.decide({ type: 'CreateApiToken', data: { ...data, expiresIn: 1 }, metadata }, apiTokenDecider.initialState()),
      ),
    ).toEqual({
      code: 'BAD_USER_INPUT',
      field: 'expiresIn',
    });
    if (!created) throw new Error('no event');
    let state: ApiTokenState = apiTokenDecider.evolve(apiTokenDecider.initialState(), created);
    const revoked = apiTokenDecider.decide({ type: 'RevokeApiToken', data: { id: 't1' }, metadata }, state);
    expect(revoked).toHaveLength(1);
    state = revoked.reduce((s, e) => apiTokenDecider.evolve(s, e), state);
    expect(apiTokenDecider.decide({ type: 'RevokeApiToken', data: { id: 't1' }, metadata }, state)).toEqual([]);
  });
});

describe('grantsFor: the one grant computation', () => {
  const data: AccessData = {
    bindings: [
      { id: 'b1', principalType: 'USER', principalId: 'ann', roleId: 'viewer', namespace: 'company' },
      { id: 'b2', principalType: 'GROUP', principalId: 'ops', roleId: 'deployer', namespace: null },
      { id: 'b3', principalType: 'SERVICE_ACCOUNT', principalId: 'ci', roleId: 'admin', namespace: null },
      { id: 'b4', principalType: 'USER', principalId: 'ann', roleId: 'deleted-role', namespace: null },
    ],
    groups: ['ops'],
    customRoles: new Map([['deployer', [{ resource: 'FLOW' as const, actions: ['CREATE' as const] }]]]),
  };

  it('combines direct and group bindings, naming each source; a missing role grants nothing', () => {
    const access = new Access(
      { type: 'USER', id: 'ann', instanceAdmin: false, via: 'api-token' },
      'acme',
      grantsFor({ type: 'USER', id: 'ann', instanceAdmin: false }, 'acme', data),
    );
    expect(access.can('FLOW', 'VIEW', 'company.team')).toBe(true);
    expect(access.can('FLOW', 'VIEW', 'marketing')).toBe(false);
    expect(access.can('FLOW', 'CREATE', 'marketing')).toBe(true);
    expect(new Set(access.grants.map((g) => g.via))).toEqual(new Set(['binding:b1', 'group:ops binding:b2']));
  });

  it('a namespace binding grants nothing on tenant-wide resources', () => {
    const admin = {
      ...data,
      bindings: [{ id: 'b9', principalType: 'USER' as const, principalId: 'ann', roleId: 'admin', namespace: 'company' }],
    };
    const access = new Access(
      { type: 'USER', id: 'ann', instanceAdmin: false, via: 'jwt' },
      'acme',
      grantsFor({ type: 'USER', id: 'ann', instanceAdmin: false }, 'acme', admin),
    );
    expect(access.can('FLOW', 'DELETE', 'company.x')).toBe(true);
    expect(access.can('BINDING', 'CREATE')).toBe(false);
    expect(access.scope('ROLE', 'LIST')).toEqual({ all: false, namespaces: [] });
  });

  it('a service account is nobody outside its tenant; instance admins only manage access', () => {
    expect(grantsFor({ type: 'SERVICE_ACCOUNT', id: 'ci', tenantId: 'acme' }, 'acme', data).length).toBeGreaterThan(0);
    expect(grantsFor({ type: 'SERVICE_ACCOUNT', id: 'ci', tenantId: 'globex' }, 'acme', data)).toEqual([]);
    const root = grantsFor({ type: 'USER', id: 'root', instanceAdmin: true }, 'acme', NO_ACCESS_DATA);
    expect(new Set(root.map((g) => `${g.resource}:${g.action}`))).toEqual(
      new Set(['BINDING:VIEW', 'BINDING:LIST', 'BINDING:CREATE', 'BINDING:DELETE', 'BINDING:ESCALATE', 'ROLE:VIEW', 'ROLE:LIST']),
    );
  });
});
