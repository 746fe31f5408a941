/** API v2's global ids (src/schema/relay): round trips, refusals, and the entity a change names. */
import { describe, expect, it } from 'vitest';
import { pageOfList } from '../../src/schema/relay/connections.js';
import { changedEntity } from '../../src/schema/relay/entities.js';
import { decodeGlobalId, encodeGlobalId } from '../../src/schema/relay/global-id.js';
import { DomainError } from '../../src/shared/errors.js';

describe('global ids', () => {
  it('round-trip type, tenant, key and version; different versions, tenants or keys give different ids', () => {
    const current = { type: 'Flow', tenant: 'acme', key: ['company.team', 'hello'], version: null };
    const atRevision = { ...current, version: { revision: 3 } };
    const asOf = { ...current, version: { asOf: '2026-12-01T00:00:00.000Z' } };
    for (const id of [current, atRevision, asOf]) expect(decodeGlobalId('id', encodeGlobalId(id))).toEqual(id);
    const ids = new Set(
      [
        current,
        atRevision,
        asOf,
        { ...current, tenant: 'globex' },
        { ...current, key: ['company', 'team.hello'] },
        { ...current, type: 'Namespace' },
      ].map(encodeGlobalId),
    );
    expect(ids.size).toBe(6);
    // An empty version is the current one: one id per entity and version.
    expect(encodeGlobalId({ ...current, version: {} })).toBe(encodeGlobalId(current));
  });

  it.each([
    ['not ours', 'Flow:acme:hello'],
    ['bad base64 JSON', 'T1!!!'],
    ['wrong shape', `T1${Buffer.from(JSON.stringify({ type: 'Flow' })).toString('base64url')}`],
    ['a key that is not strings', `T1${Buffer.from(JSON.stringify(['Flow', 'acme', [1], null])).toString('base64url')}`],
    ['an unknown version field', `T1${Buffer.from(JSON.stringify(['Flow', 'acme', ['a'], { at: 1 }])).toString('base64url')}`],
    ['a bad asOf', `T1${Buffer.from(JSON.stringify(['Flow', 'acme', ['a'], { asOf: 'yesterday' }])).toString('base64url')}`],
  ])('refuses %s as BAD_USER_INPUT', (_what, id) => {
    expect(() => decodeGlobalId('id', id)).toThrow(DomainError);
  });
});

describe('the entity a change names', () => {
  it('splits flow and secret ids at their namespace', () => {
    expect(changedEntity({ resourceType: 'FLOW', resourceId: 'company.team.hello', namespace: 'company.team' })).toEqual({
      type: 'Flow',
      key: ['company.team', 'hello'],
    });
    expect(changedEntity({ resourceType: 'SECRET', resourceId: 'company.team/DB_PASSWORD', namespace: 'company.team' })).toEqual({
      type: 'SecretMetadata',
      key: ['company.team', 'DB_PASSWORD'],
    });
    expect(changedEntity({ resourceType: 'NAMESPACE', resourceId: 'company.team', namespace: 'company.team' })).toEqual({
      type: 'Namespace',
      key: ['company.team'],
    });
    expect(changedEntity({ resourceType: 'FLOW', resourceId: 'other.hello', namespace: 'company.team' })).toBeNull();
    expect(changedEntity({ resourceType: 'TENANT', resourceId: 'acme', namespace: null })).toBeNull();
  });
});

describe('connections over a list read whole', () => {
  const items = ['a', 'c', 'e', 'g'];
  const page = (list: string[], args: Parameters<typeof pageOfList>[2]) => pageOfList(list, (s) => s, args);

  it('pages forwards and backwards with complete page info', () => {
    const first = page(items, { first: 2 });
    expect(first.edges.map((e) => e.node)).toEqual(['a', 'c']);
    expect(first.pageInfo).toMatchObject({ hasPreviousPage: false, hasNextPage: true });
    const next = page(items, { first: 2, after: first.pageInfo.endCursor });
    expect(next.edges.map((e) => e.node)).toEqual(['e', 'g']);
    expect(next.pageInfo).toMatchObject({ hasPreviousPage: true, hasNextPage: false });
    const back = page(items, { last: 1, before: next.pageInfo.startCursor });
    expect(back.edges.map((e) => e.node)).toEqual(['c']);
    expect(page(items, {}).totalCount).toBe(4);
  });

  it('a cursor follows its item when others are inserted or deleted, and its place when its own item is deleted', () => {
    const cursorOfC = page(items, { first: 2 }).pageInfo.endCursor;
    expect(page(['0', 'a', 'b', 'c', 'e', 'g'], { first: 1, after: cursorOfC }).edges.map((e) => e.node)).toEqual(['e']);
    expect(page(['a', 'e', 'g'], { first: 1, after: cursorOfC }).edges.map((e) => e.node)).toEqual(['e']);
  });

  it('refuses page sizes out of range and foreign cursors', () => {
    expect(() => page(items, { first: 501 })).toThrow(DomainError);
    expect(() => page(items, { last: -1 })).toThrow(DomainError);
    expect(() => page(items, { after: 'nope' })).toThrow(DomainError);
  });
});
