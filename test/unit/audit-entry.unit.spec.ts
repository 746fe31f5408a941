import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { EVENT_CATALOG } from '../../src/events/catalog.js';
import type { RecordedEvent } from '../../src/eventstore/port.js';
import { csvField, csvHeader, csvRow, CSV_COLUMNS, exportChunks, ndjsonLine } from '../../src/application/audit-export.js';
import {
  auditDocumentOf,
  auditEntryOf,
  entryHash,
  sha256Hex,
  toDocument,
  toView,
  type AuditEntryView,
} from '../../src/projections/audit/audit-entry.js';
import { canonicalJson } from '../../src/shared/json.js';

let position = 0;
function event(type: string, data: unknown, overrides: Partial<RecordedEvent> = {}, stream = 'acme/x/1'): RecordedEvent {
  position++;
  return {
    id: `evt-${position}`,
    type,
    schemaVersion: 1,
    data,
    streamName: stream,
    streamRevision: 0,
    position,
    metadata: {
      tenantId: stream.split('/')[0] ?? '',
      namespace: 'company.team',
      actor: { type: 'USER', id: 'alice' },
      correlationId: 'corr-1',
      commandId: 'cmd-1',
      occurredAt: '2026-01-02T03:04:05.000Z',
      ip: '10.0.0.1',
      userAgent: 'curl/8',
    },
    ...overrides,
  };
}

async function collect(chunks: AsyncGenerator<string, number>): Promise<string> {
  let out = '';
  for await (const chunk of chunks) out += chunk;
  return out;
}

async function* from<T>(items: T[]): AsyncGenerator<T> {
  for (const item of items) yield item;
}

describe('audit entries (pure)', () => {
  it('maps an event to its entry: catalog info, actor, metadata and the before/after from *Updated events', () => {
    const changes = { description: { before: null, after: 'Team' }, variables: { before: {}, after: { 'a.b': 1, $x: [1, 2] } } };
    const entry = auditEntryOf(event('NamespaceUpdated', { id: 'company.team', changes }), null);
    expect(entry).toMatchObject({
      tenantId: 'acme',
      namespace: 'company.team',
      resourceType: 'NAMESPACE',
      resourceId: 'company.team',
      action: 'UPDATE',
      eventType: 'NamespaceUpdated',
      actor: { type: 'USER', id: 'alice' },
      correlationId: 'corr-1',
      ip: '10.0.0.1',
      userAgent: 'curl/8',
      previousHash: null,
      changes,
    });
    expect(entry.hash).toMatch(/^[0-9a-f]{64}$/);
  });

  it('shows a created resource as `after` and a deleted or revoked one as `before`', () => {
    expect(auditEntryOf(event('NamespaceCreated', { id: 'n', description: 'd' }), null).changes).toEqual({
      after: { id: 'n', description: 'd' },
    });
    const binding = { id: 'b1', principalType: 'USER', principalId: 'bob', roleId: 'viewer', namespace: null };
    expect(auditEntryOf(event('BindingDeleted', binding), null).changes).toEqual({ before: binding });
    expect(auditEntryOf(event('BindingCreated', binding), null)).toMatchObject({ action: 'GRANT', changes: { after: binding } });
    // A put that creates the key is a CREATE; one that replaces its value, an UPDATE.
    const put = { namespace: 'company', key: 'K', description: null, tags: [], version: 1 };
    expect(auditEntryOf(event('SecretPut', { ...put, created: true }), null).action).toBe('CREATE');
    expect(auditEntryOf(event('SecretPut', { ...put, version: 2, created: false }), null).action).toBe('UPDATE');
  });

  it('never stores a `value` field of a secret event, nor in its changes (defensive: secret events carry metadata only)', () => {
    const leaked = 's3cr3t-value-that-must-not-leak';
    const tags = [{ key: 'team', value: 'data' }];
    const entry = auditEntryOf(
      event('SecretPut', { namespace: 'company', key: 'DB_PASSWORD', value: leaked, description: 'db', tags }),
      null,
    );
    expect(entry.resourceType).toBe('SECRET');
    expect(entry.resourceId).toBe('company/DB_PASSWORD');
    expect(JSON.stringify(entry)).not.toContain(leaked);
    expect(JSON.stringify(toDocument(entry))).not.toContain(leaked);
    // A tag's `{key, value}` is metadata and stays.
    expect(entry.changes).toEqual({ after: { namespace: 'company', key: 'DB_PASSWORD', description: 'db', tags } });
    const updated = auditEntryOf(
      event('SecretPut', {
        namespace: 'company',
        key: 'K',
        changes: { value: { before: leaked, after: `${leaked}2` }, description: { before: 'a', after: 'b' } },
      }),
      null,
    );
    expect(JSON.stringify(updated)).not.toContain(leaked);
    expect(updated.changes).toEqual({ description: { before: 'a', after: 'b' } });
    // Outside secrets a user's `value` key is ordinary data and stays.
    const variables = { changes: { variables: { before: {}, after: { value: 42 } } } };
    expect(auditEntryOf(event('NamespaceUpdated', { id: 'n', ...variables }), null).changes).toEqual(variables.changes);
  });

  it('keeps the salted hash of an API token out of its entries', () => {
    const data = {
      id: 't1',
      name: 'ci',
      principalType: 'USER',
      principalId: 'bob',
      expiresAt: null,
      secretSalt: 'salt-xyz',
      secretHash: 'hash-xyz',
    };
    const entry = auditEntryOf(event('ApiTokenCreated', data), null);
    expect(entry.changes).toEqual({ after: { id: 't1', name: 'ci', principalType: 'USER', principalId: 'bob', expiresAt: null } });
    expect(JSON.stringify(entry)).not.toMatch(/xyz/);
  });

  it('hashes the canonical JSON of every field but the hash, the previous hash included, so any edit shows', () => {
    const first = auditEntryOf(event('NamespaceCreated', { id: 'a', description: null }), null);
    const second = auditEntryOf(event('NamespaceCreated', { id: 'b', description: null }), first.hash);
    expect(second.previousHash).toBe(first.hash);
    const { hash, ...content } = second;
    expect(hash).toBe(sha256Hex(canonicalJson(content)));
    expect(entryHash(second)).toBe(hash);
    expect(entryHash({ ...second, resourceId: 'c' })).not.toBe(hash);
    expect(entryHash({ ...second, previousHash: first.hash.replace(/^./, first.hash[0] === 'a' ? 'b' : 'a') })).not.toBe(hash);
    expect(
      auditEntryOf(
        event('NamespaceCreated', { id: 'b', description: null }, { id: second.id, position: Number(second.position) }),
        first.hash,
      ),
    ).toEqual(second);
  });

  it('stores and reads back an entry without changing what was hashed (user keys with dots and $ included)', () => {
    const changes = { variables: { before: { 'x.y': 1 }, after: { $set: { z: [true, null, 1.5] } } } };
    const entry = auditEntryOf(event('NamespaceUpdated', { id: 'n', changes }), 'f'.repeat(64));
    const doc = toDocument(entry);
    expect(doc._id).toBe(entry.id);
    expect(doc.position).toBe(Number(entry.position));
    expect(typeof doc.changesJson).toBe('string');
    expect(toView(doc)).toEqual(entry);
    expect(entryHash(toView(doc))).toBe(entry.hash);
  });

  it('puts instance-level events (users) in the `_instance` chain', () => {
    const entry = auditEntryOf(
      event('UserCreated', { id: 'bob', email: 'b@x', name: null, instanceAdmin: false }, {}, '_instance/user/bob'),
      null,
    );
    expect(entry).toMatchObject({ tenantId: '_instance', resourceType: 'USER', resourceId: 'bob', action: 'CREATE' });
  });
});

describe('audit export formats', () => {
  it('quotes CSV fields per RFC 4180 only when needed', () => {
    expect(csvField('plain')).toBe('plain');
    expect(csvField(null)).toBe('');
    expect(csvField('a,b')).toBe('"a,b"');
    expect(csvField('say "hi"')).toBe('"say ""hi"""');
    expect(csvField('two\nlines')).toBe('"two\nlines"');
    expect(csvField('cr\rhere')).toBe('"cr\rhere"');
  });

  it('writes one CSV row per entry with every column, and one JSON object per NDJSON line', async () => {
    const entry: AuditEntryView = auditEntryOf(
      event('NamespaceUpdated', { id: 'n', changes: { description: { before: 'a, "b"', after: 'line1\nline2' } } }),
      null,
    );
    const csv = await collect(exportChunks(from([entry, entry]), 'csv'));
    expect(csv.startsWith(csvHeader())).toBe(true);
    expect(csv).toBe(csvHeader() + csvRow(entry) + csvRow(entry));
    expect(csvHeader().trim().split(',')).toEqual([...CSV_COLUMNS]);
    expect(csvRow(entry)).toContain('"{""description"":{""after"":""line1\\nline2"",""before"":""a, \\""b\\""""}}"');
    const ndjson = await collect(exportChunks(from([entry, entry]), 'ndjson', { chunkBytes: 10 }));
    const lines = ndjson.trimEnd().split('\n');
    expect(lines).toHaveLength(2);
    expect(JSON.parse(lines[0] ?? '')).toEqual(entry);
    expect(ndjsonLine(entry)).toBe(`${lines[0]}\n`);
  });
});

describe('audit entry format is frozen', () => {
  // Computed by the implementation of f224fab. Entries already stored must keep verifying, so an
  // optimisation of the projection (or of canonicalJson) must never change a byte of this.
  it('hashes and stores a known event exactly as before', () => {
    const recorded = {
      id: '6f1c1e9e-4a55-5b8e-9d57-0c0f1c2b3a4d',
      type: 'FlowUpdated',
      schemaVersion: 1,
      data: {
        namespace: 'company.team',
        id: 'etl',
        revision: 2,
        changes: { source: { before: 'id: a', after: 'id: b' }, labels: { before: { z: '1', a: '2', '10': 'x', '9': 'y' }, after: null } },
      },
      metadata: {
        tenantId: 'acme',
        namespace: 'company.team',
        actor: { type: 'USER', id: 'alice' },
        correlationId: 'c-1',
        commandId: 'c-1',
        occurredAt: '2026-11-24T07:00:00.000Z',
        ip: '10.0.0.1',
        userAgent: 'curl/8',
      },
      streamName: 'acme/flow/company.team/etl',
      streamRevision: 1,
      position: 42,
    } as RecordedEvent;
    const entry = auditEntryOf(recorded, 'a'.repeat(64));
    expect(entry.hash).toBe('d3df49352ae937369e25c985f3a84297b1d53e8cccce49bef62fb250bd06850d');
    expect(entryHash(entry)).toBe(entry.hash);
    expect(JSON.stringify(auditDocumentOf(recorded, 'a'.repeat(64)))).toBe(JSON.stringify(toDocument(entry)));
    expect(JSON.stringify(toDocument(entry))).toBe(
      '{"_id":"6f1c1e9e-4a55-5b8e-9d57-0c0f1c2b3a4d","tenantId":"acme","namespace":"company.team","resourceType":"FLOW","resourceId":"company.team.etl","action":"UPDATE","eventType":"FlowUpdated","actor":{"type":"USER","id":"alice"},"occurredAt":"2026-11-24T07:00:00.000Z","correlationId":"c-1","ip":"10.0.0.1","userAgent":"curl/8","previousHash":"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa","hash":"d3df49352ae937369e25c985f3a84297b1d53e8cccce49bef62fb250bd06850d","position":42,"changesJson":"{\\"labels\\":{\\"after\\":null,\\"before\\":{\\"9\\":\\"y\\",\\"10\\":\\"x\\",\\"a\\":\\"2\\",\\"z\\":\\"1\\"}},\\"source\\":{\\"after\\":\\"id: b\\",\\"before\\":\\"id: a\\"}}","namespacePath":["company","company.team"]}',
    );
  });
});

describe('audit hash input', () => {
  it('the projection’s hash equals SHA-256 of canonicalJson(entry without hash) for generated events', () => {
    const key = fc.oneof(
      fc.constantFrom('__proto__', 'constructor', '10', '9', '0', 'value', 'changes', 'Z', 'a', 'é', '\u{1F600}'),
      fc.string(),
    );
    const data = fc.dictionary(key, fc.jsonValue({ maxDepth: 3 }));
    const text = fc.oneof(fc.string(), fc.string({ unit: 'grapheme' }), fc.string({ unit: 'binary' }));
    const types = Object.keys(EVENT_CATALOG);
    fc.assert(
      fc.property(
        fc.constantFrom(...types),
        fc.oneof(data, fc.record({ changes: data })),
        fc.record({
          namespace: fc.option(text, { nil: undefined }),
          ip: fc.option(text, { nil: undefined }),
          userAgent: fc.option(text, { nil: undefined }),
        }),
        fc.option(fc.stringMatching(/^[0-9a-f]{64}$/), { nil: null }),
        text,
        (type, payload, optional, previousHash, actorId) => {
          const recorded = {
            ...event(type, payload),
            metadata: {
              tenantId: 'acme',
              actor: { type: 'USER', id: actorId },
              correlationId: 'corr',
              commandId: 'cmd',
              occurredAt: '2026-01-02T03:04:05.000Z',
              ...optional,
            },
          } as RecordedEvent;
          let entry: AuditEntryView;
          try {
            entry = auditEntryOf(recorded, previousHash);
          } catch {
            return; // a catalog resourceId() may refuse data that no real event carries
          }
          const { hash, ...content } = entry;
          expect(hash).toBe(sha256Hex(canonicalJson(content)));
          expect(entryHash(entry)).toBe(hash);
        },
      ),
      { numRuns: 1500 },
    );
  });
});
