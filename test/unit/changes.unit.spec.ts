/**
 * The change feed's filter in its three forms (store query for catch-up
 * reads, predicate for live fan-out, routing key for the hub) must agree,
 * and a Change carries nothing of the audit entry but what it names.
 */
import { Query } from 'mingo';
import { describe, expect, it } from 'vitest';
import type { ListScope } from '../../src/auth/authorizer.js';
import { forEachEntryKey } from '../../src/application/audit-criteria.js';
import {
  changeFeedFilter,
  changeOf,
  type ChangeFilterInput,
  type ChangeResourceType,
  type ChangeVisibility,
} from '../../src/application/changes.js';
import { namespacePathOf, toView, type AuditEntryDocument } from '../../src/projections/audit/audit-entry.js';

function entry(n: number, fields: Partial<AuditEntryDocument>): AuditEntryDocument {
  const doc: AuditEntryDocument = {
    _id: `e${n}`,
    tenantId: 'acme',
    namespace: null,
    resourceType: 'FLOW',
    resourceId: 'x',
    action: 'CREATE',
    eventType: 'FlowCreated',
    actor: { type: 'USER', id: 'alice' },
    occurredAt: '2026-03-01T10:00:00.000Z',
    correlationId: 'c',
    ip: '10.0.0.1',
    userAgent: 'ua',
    previousHash: null,
    hash: 'h',
    position: n,
    changesJson: null,
    namespacePath: [],
    ...fields,
  };
  return { ...doc, namespacePath: namespacePathOf(doc.namespace) };
}

const ENTRIES: AuditEntryDocument[] = [];
for (const namespace of [null, 'team', 'team.sub', 'teammate', 'other']) {
  for (const resourceType of ['NAMESPACE', 'FLOW', 'SECRET', 'ROLE', 'BINDING', 'GROUP', 'SERVICE_ACCOUNT', 'API_TOKEN', 'TENANT']) {
    for (const resourceId of ['team.f', 'r']) ENTRIES.push(entry(ENTRIES.length + 1, { namespace, resourceType, resourceId }));
  }
}

const visibility = (entries: [ChangeResourceType, ListScope][]): ChangeVisibility => new Map(entries);
const VISIBILITIES: ChangeVisibility[] = [
  visibility([['FLOW', { all: false, namespaces: ['team'] }]]),
  visibility([
    ['FLOW', { all: false, namespaces: ['team'] }],
    ['SECRET', { all: false, namespaces: ['team.sub'] }],
  ]),
  visibility([
    ['FLOW', { all: true }],
    ['ROLE', { all: true }],
  ]),
  visibility([
    ['NAMESPACE', { all: false, namespaces: ['team', 'other'] }],
    ['BINDING', { all: true }],
  ]),
  visibility([]),
];
const FILTERS: ChangeFilterInput[] = [
  {},
  { namespace: 'team' },
  { namespace: 'other' },
  { resourceTypes: ['FLOW'] },
  { resourceTypes: ['ROLE', 'SECRET'] },
  { resourceTypes: [] },
  { resourceId: 'team.f' },
  { namespace: 'team', resourceTypes: ['FLOW'], resourceId: 'r' },
];

describe('changes: the store query, the predicate and the routing key agree', () => {
  it('on every entry, for every filter and visibility', () => {
    let matched = 0;
    for (const filter of FILTERS) {
      for (const visible of VISIBILITIES) {
        const feed = changeFeedFilter(filter, visible);
        const query = new Query(feed.query);
        for (const doc of ENTRIES) {
          const expected = query.test(doc);
          const what = `${JSON.stringify(filter)} ${JSON.stringify([...visible])} on ${doc.resourceType} ${doc.namespace}`;
          expect(feed.matches(doc), what).toBe(expected);
          if (!expected) continue;
          matched++;
          // Never a type the subscriber may not view, nor one outside the feed's types.
          expect(visible.has(doc.resourceType as ChangeResourceType), what).toBe(true);
          if (feed.key !== null) {
            const keys: string[] = [];
            forEachEntryKey(doc, (key) => keys.push(key));
            expect(keys, what).toContain(feed.key);
          }
        }
      }
    }
    expect(matched).toBeGreaterThan(50);
  });

  it('files a namespace-scoped viewer under its only subtree, a tenant-wide one under nothing', () => {
    expect(changeFeedFilter({}, VISIBILITIES[0]!).key).toBe('t:FLOW');
    expect(
      changeFeedFilter(
        {},
        visibility([
          ['FLOW', { all: false, namespaces: ['team'] }],
          ['SECRET', { all: false, namespaces: ['team'] }],
        ]),
      ).key,
    ).toBe('n:team');
    expect(changeFeedFilter({}, VISIBILITIES[2]!).key).toBeNull();
    expect(changeFeedFilter({ resourceId: 'r', namespace: 'team' }, VISIBILITIES[2]!).key).toBe('r:r');
  });

  it('refuses an unknown resource type', () => {
    expect(() => changeFeedFilter({ resourceTypes: ['AUDITLOG'] }, VISIBILITIES[2]!)).toThrow(/unknown resource type/);
  });
});

describe('changes: a Change names what changed, nothing else', () => {
  it('keeps only position, time, type, id, namespace, kind and a flow revision', () => {
    const created = changeOf(
      toView(
        entry(7, { namespace: 'team', resourceId: 'team.f', changesJson: JSON.stringify({ after: { revision: 1, source: 'secret: x' } }) }),
      ),
    );
    expect(created).toEqual({
      position: '7',
      occurredAt: '2026-03-01T10:00:00.000Z',
      resourceType: 'FLOW',
      resourceId: 'team.f',
      namespace: 'team',
      kind: 'CREATED',
      revision: 1,
    });
    const updated = changeOf(
      toView(entry(8, { action: 'UPDATE', namespace: 'team', changesJson: JSON.stringify({ revision: { before: 2, after: 3 } }) })),
    );
    expect([updated.kind, updated.revision]).toEqual(['UPDATED', 3]);
    const deleted = changeOf(
      toView(entry(9, { action: 'DELETE', namespace: 'team', changesJson: JSON.stringify({ before: { revision: 3 } }) })),
    );
    expect([deleted.kind, deleted.revision]).toEqual(['DELETED', null]);
    const secret = changeOf(
      toView(
        entry(10, { resourceType: 'SECRET', resourceId: 'team/KEY', changesJson: JSON.stringify({ after: { revision: 4, value: 'v' } }) }),
      ),
    );
    expect(secret.revision).toBeNull();
    expect(JSON.stringify(secret)).not.toMatch(/"v"|alice|10\.0\.0\.1|ua/);
    expect(
      ['GRANT', 'REVOKE', 'ADD_MEMBER', 'RESTORE'].map((action) => changeOf(toView(entry(11, { resourceType: 'BINDING', action }))).kind),
    ).toEqual(['CREATED', 'DELETED', 'UPDATED', 'RESTORED']);
  });
});
