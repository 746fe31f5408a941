/**
 * One AuditLogFilter, two forms: the store query (lists, exports, catch-up
 * reads) and the predicate on one entry (live fan-out). They must agree on
 * every entry, and every entry a subscription matches must carry the
 * subscription's routing key, or the hub would never offer it.
 */
import { Query } from 'mingo';
import { describe, expect, it } from 'vitest';
import type { ListScope } from '../../src/auth/authorizer.js';
import {
  auditCriteria,
  criteriaKey,
  criteriaPredicate,
  criteriaQuery,
  forEachEntryKey,
  type AuditLogFilterInput,
} from '../../src/application/audit-criteria.js';
import { namespacePathOf, type AuditEntryDocument } from '../../src/projections/audit/audit-entry.js';

function entry(n: number, fields: Partial<AuditEntryDocument>): AuditEntryDocument {
  const doc: AuditEntryDocument = {
    _id: `e${n}`,
    tenantId: 'acme',
    namespace: null,
    resourceType: 'NAMESPACE',
    resourceId: 'x',
    action: 'CREATE',
    eventType: 'NamespaceCreated',
    actor: { type: 'USER', id: 'alice' },
    occurredAt: '2026-03-01T10:00:00.000Z',
    correlationId: 'c',
    ip: null,
    userAgent: null,
    previousHash: null,
    hash: 'h',
    position: n,
    changesJson: null,
    namespacePath: [],
    ...fields,
  };
  // Derived from the namespace, as the projection stores it (the store query filters on it).
  return { ...doc, namespacePath: fields.namespacePath ?? namespacePathOf(doc.namespace) };
}

const NAMESPACES = [null, 'team', 'team.sub', 'team.sub.deep', 'teammate', 'other', 'other.team'];
const ENTRIES: AuditEntryDocument[] = [];
for (const namespace of NAMESPACES) {
  for (const resourceType of ['NAMESPACE', 'FLOW']) {
    for (const [resourceId, actor, action, occurredAt] of [
      ['team', 'alice', 'CREATE', '2026-03-01T09:59:59.999Z'],
      ['flow-1', 'bob', 'UPDATE', '2026-03-01T10:00:00.000Z'],
      ['alice', 'team', 'DELETE', '2026-03-02T00:00:00.000Z'],
    ] as const) {
      ENTRIES.push(
        entry(ENTRIES.length + 1, { namespace, resourceType, resourceId, actor: { type: 'USER', id: actor }, action, occurredAt }),
      );
    }
  }
}

const FILTERS: AuditLogFilterInput[] = [
  {},
  { namespace: 'team' },
  { namespace: 'team.sub' },
  { namespace: 'other' },
  { resourceType: 'FLOW' },
  { resourceId: 'team' },
  { actorId: 'bob' },
  { action: 'DELETE' },
  { from: new Date('2026-03-01T10:00:00.000Z') },
  { to: new Date('2026-03-01T10:00:00.000Z') },
  { from: new Date('2026-03-01T10:00:00.000Z'), to: new Date('2026-03-02T00:00:00.000Z') },
  { namespace: 'team', action: 'CREATE' },
  { namespace: 'team', resourceType: 'NAMESPACE', actorId: 'alice', from: new Date('2026-01-01') },
  { resourceId: 'alice', actorId: 'team', action: 'DELETE', resourceType: 'FLOW', namespace: 'other' },
  { resourceId: 'nothing' },
];

const SCOPES: ListScope[] = [
  { all: true },
  { all: false, namespaces: ['team'] },
  { all: false, namespaces: ['team.sub', 'other'] },
  { all: false, namespaces: ['teammate'] },
  { all: false, namespaces: [] },
];

const keysOf = (doc: AuditEntryDocument): string[] => {
  const keys: string[] = [];
  forEachEntryKey(doc, (key) => keys.push(key));
  return keys;
};

describe('audit criteria: the store query and the predicate agree', () => {
  it('on every entry, for every filter and visibility scope', () => {
    let matched = 0;
    for (const filter of FILTERS) {
      for (const scope of SCOPES) {
        const criteria = auditCriteria(filter, scope);
        const query = new Query(criteriaQuery(criteria));
        const predicate = criteriaPredicate(criteria);
        for (const doc of ENTRIES) {
          const expected = query.test(doc);
          expect(predicate(doc), `${JSON.stringify(filter)} ${JSON.stringify(scope)} on ${JSON.stringify(doc)}`).toBe(expected);
          if (expected) matched++;
        }
      }
    }
    // The matrix exercises both outcomes plenty.
    expect(matched).toBeGreaterThan(200);
    expect(matched).toBeLessThan(FILTERS.length * SCOPES.length * ENTRIES.length);
  });

  it('the query is the one lists and exports use', () => {
    expect(criteriaQuery(auditCriteria({ namespace: 'team', actorId: 'bob' }, { all: false, namespaces: ['team'] }))).toEqual({
      // A subtree is one key of the multikey namespacePath (an index lookup, not a regex over every entry).
      $and: [{ namespacePath: { $in: ['team'] } }, { namespacePath: 'team' }, { 'actor.id': 'bob' }],
    });
    expect(criteriaQuery(auditCriteria({}, { all: true }))).toEqual({});
  });
});

describe('audit criteria: routing keys', () => {
  it('files a subscription under its most selective equality', () => {
    const key = (filter: AuditLogFilterInput, scope: ListScope = { all: true }) => criteriaKey(auditCriteria(filter, scope));
    expect(key({ resourceId: 'r', actorId: 'a', resourceType: 't', action: 'x', namespace: 'n' })).toBe('r:r');
    expect(key({ actorId: 'a', resourceType: 't', action: 'x', namespace: 'n' })).toBe('a:a');
    expect(key({ resourceType: 't', action: 'x', namespace: 'n' })).toBe('t:t');
    expect(key({ action: 'x', namespace: 'n' })).toBe('x:x');
    expect(key({ namespace: 'n.m' }, { all: false, namespaces: ['n'] })).toBe('n:n.m');
    expect(key({}, { all: false, namespaces: ['n'] })).toBe('n:n');
    expect(key({}, { all: false, namespaces: ['n', 'm'] })).toBeNull();
    expect(key({ from: new Date() })).toBeNull();
  });

  it('an entry looks up its resourceId, actor, type, action and every ancestor-or-self of its namespace', () => {
    expect(keysOf(entry(1, { namespace: 'a.b.c', resourceId: 'r', actor: { type: 'USER', id: 'u' } }))).toEqual([
      'r:r',
      'a:u',
      't:NAMESPACE',
      'x:CREATE',
      'n:a',
      'n:a.b',
      'n:a.b.c',
    ]);
    expect(keysOf(entry(1, { namespace: null })).filter((k) => k.startsWith('n:'))).toEqual([]);
  });

  it('every entry a subscription matches carries its key (nothing it matches is missed)', () => {
    for (const filter of FILTERS) {
      for (const scope of SCOPES) {
        const criteria = auditCriteria(filter, scope);
        const key = criteriaKey(criteria);
        if (key === null) continue;
        const predicate = criteriaPredicate(criteria);
        for (const doc of ENTRIES) if (predicate(doc)) expect(keysOf(doc)).toContain(key);
      }
    }
  });
});
