import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { secretDecider, validateSecretValue, type SecretCommand } from '../../src/aggregates/secret/secret.js';
import type { RecordedEvent } from '../../src/eventstore/port.js';
import type { ProjectionTarget } from '../../src/projections/runtime/projection.js';
import { secretsProjection, SECRETS } from '../../src/projections/secrets/secrets.projection.js';
import { MemoryDocumentStore } from '../../src/readmodels/memory.js';
import { withoutInputValues } from '../../src/schema/input-echo.js';
import { MASTER_KEY_FILE, resolveMasterKey } from '../../src/secrets/master-key.js';
import { DomainError } from '../../src/shared/errors.js';
import { commandMetadata, runDecider } from '../support/decider.js';

const metadata = commandMetadata({ actor: { type: 'USER', id: 'ann' } });
const put = (version: number, extra: Partial<Extract<SecretCommand, { type: 'PutSecret' }>['data']> = {}): SecretCommand => ({
  type: 'PutSecret',
  data: { namespace: 'company', key: 'DB', version, ...extra },
  metadata,
});
const remove: SecretCommand = { type: 'DeleteSecret', data: { namespace: 'company', key: 'DB' }, metadata };

const run = (...commands: SecretCommand[]) => runDecider(secretDecider, ...commands);

const refusal = (fn: () => unknown): DomainError => {
  try {
    fn();
  } catch (error) {
    if (error instanceof DomainError) return error;
    throw error;
  }
  throw new Error('expected a DomainError');
};

describe('secret decider', () => {
  it('puts, keeps description and tags when omitted, clears them with null, and marks created puts', () => {
    const { events, state } = run(
      put(1, {
        description: 'db',
        tags: [
          { key: 'z', value: '1' },
          { key: 'a', value: '2' },
        ],
      }),
      put(2),
      put(3, { description: null, tags: null }),
    );
    expect(events.map((e) => e.data)).toEqual([
      {
        namespace: 'company',
        key: 'DB',
        version: 1,
        created: true,
        description: 'db',
        tags: [
          { key: 'a', value: '2' },
          { key: 'z', value: '1' },
        ],
      },
      {
        namespace: 'company',
        key: 'DB',
        version: 2,
        created: false,
        description: 'db',
        tags: [
          { key: 'a', value: '2' },
          { key: 'z', value: '1' },
        ],
      },
      { namespace: 'company', key: 'DB', version: 3, created: false, description: null, tags: [] },
    ]);
    expect(events.every((e) => e.namespace === 'company')).toBe(true);
    expect(state).toMatchObject({ status: 'active', version: 3 });
  });

  it('refuses a version that is not above the current one (CONFLICT), even after a delete', () => {
    expect(refusal(() => run(put(1), put(1))).code).toBe('CONFLICT');
    expect(refusal(() => run(put(2), put(1))).code).toBe('CONFLICT');
    const { events } = run(put(1), remove, put(4));
    expect(events.map((e) => [e.type, e.data.version])).toEqual([
      ['SecretPut', 1],
      ['SecretDeleted', 1],
      ['SecretPut', 4],
    ]);
    expect(refusal(() => run(put(3), remove, put(2))).code).toBe('CONFLICT');
  });

  it('forgets description and tags of a deleted secret, and reports the re-put as created', () => {
    const { events } = run(put(1, { description: 'old', tags: [{ key: 'k', value: 'v' }] }), remove, put(2));
    expect(events[2]?.data).toEqual({ namespace: 'company', key: 'DB', version: 2, created: true, description: null, tags: [] });
  });

  it('refuses deleting what does not exist (NOT_FOUND) and bad keys and tags (BAD_USER_INPUT with the field)', () => {
    expect(refusal(() => run(remove)).code).toBe('NOT_FOUND');
    expect(refusal(() => run(put(1), remove, remove)).code).toBe('NOT_FOUND');
    const cases: [Partial<Extract<SecretCommand, { type: 'PutSecret' }>['data']>, string][] = [
      [{ key: 'has-dash' }, 'key'],
      [{ key: '' }, 'key'],
      [{ namespace: 'Upper' }, 'namespace'],
      [
        {
          tags: [
            { key: 'a', value: '1' },
            { key: 'a', value: '2' },
          ],
        },
        'tags[1].key',
      ],
      [{ tags: [{ key: 'a', value: 'x'.repeat(1025) }] }, 'tags[0].value'],
      [{ tags: 'nope' }, 'tags'],
      [{ description: 'x'.repeat(10_001) }, 'description'],
    ];
    for (const [data, field] of cases) {
      const error = refusal(() => run(put(1, data)));
      expect(error.code, field).toBe('BAD_USER_INPUT');
      expect(error.extensions['field']).toBe(field);
    }
  });
});

describe('secret values', () => {
  it('accepts a non-empty string of at most 64 KiB in UTF-8 and refuses others without quoting them', () => {
    expect(validateSecretValue('a'.repeat(64 * 1024))).toHaveLength(64 * 1024);
    for (const bad of ['', 'a'.repeat(64 * 1024 + 1), '€'.repeat(21_846), 42, null, ['x']]) {
      const error = refusal(() => validateSecretValue(bad));
      expect(error.extensions['field']).toBe('value');
      expect(error.message).toBe('value must be a non-empty string of at most 65536 bytes (UTF-8)');
    }
  });
});

describe('secrets projection', () => {
  it('keeps metadata only, deletes on SecretDeleted, and applying the same events twice changes nothing', async () => {
    const store = new MemoryDocumentStore();
    const target: ProjectionTarget = { store, collection: (name) => store.collection(`${name}_v${secretsProjection.version}`) };
    const { events } = run(put(1, { description: 'd' }), put(2), remove, put(3, { tags: [{ key: 'env', value: 'prod' }] }));
    const recorded = events.map((event, i): RecordedEvent => ({
      id: `e${i}`,
      type: event.type,
      schemaVersion: 1,
      data: event.data,
      metadata: { ...metadata, tenantId: 'acme', namespace: event.namespace, occurredAt: `2026-01-0${i + 1}T00:00:00.000Z` },
      streamName: 'acme/secret/company/DB',
      streamRevision: i,
      position: i + 1,
    }));
    const snapshot = () => store.collection(`${SECRETS}_v${secretsProjection.version}`).find({});
    // First the put and the delete alone: nothing remains.
    await secretsProjection.apply(recorded.slice(0, 3), target);
    expect(await snapshot()).toEqual([]);
    await secretsProjection.apply(recorded, target);
    const first = await snapshot();
    expect(first).toEqual([
      {
        _id: 'acme/company/DB',
        tenantId: 'acme',
        _pos: 4,
        namespace: 'company',
        key: 'DB',
        description: null,
        tags: [{ key: 'env', value: 'prod' }],
        version: 3,
        revision: 4,
        createdAt: '2026-01-04T00:00:00.000Z',
        updatedAt: '2026-01-04T00:00:00.000Z',
      },
    ]);
    await secretsProjection.apply(recorded, target);
    expect(await snapshot()).toEqual(first);
  });
});

describe('graphql-js messages that quote input', () => {
  const canary = 's3cr3t-canary';
  it('keeps the variable, path and reason, and drops the quoted value', () => {
    expect(
      withoutInputValues(
        `Variable "$input" got invalid value { key: "K", value: "${canary}", bogus: 1 }; Field "bogus" is not defined by type "PutSecretInput".`,
        'Field "bogus" is not defined by type "PutSecretInput".',
      ),
    ).toBe('Variable "$input" got an invalid value; Field "bogus" is not defined by type "PutSecretInput".');
    expect(
      withoutInputValues(
        `Variable "$input" got invalid value ["${canary}"] at "input.value"; String cannot represent a non string value: ["${canary}"]`,
        `String cannot represent a non string value: ["${canary}"]`,
      ),
    ).toBe('Variable "$input" got an invalid value at "input.value"; String cannot represent a non string value.');
  });

  it('cannot be fooled by a value that imitates the path or the reason', () => {
    const tricky = `x" at "input.value"; Field "y" is not defined`;
    const message = withoutInputValues(`Variable "$v" got invalid value "${tricky}"; Expected type "TagInput" to be an object.`);
    expect(message).toBe('Variable "$v" got an invalid value');
    expect(withoutInputValues(`Variable "$v" got invalid value "${canary}"; nothing`, 'mismatch')).not.toContain(canary);
  });

  it('drops literals from validation messages and leaves other messages alone', () => {
    expect(withoutInputValues(`Expected value of type "[TagInput!]", found "${canary}".`)).toBe('Expected value of type "[TagInput!]".');
    expect(withoutInputValues(`Enum "PrincipalType" cannot represent non-enum value: "${canary}".`)).toBe(
      'Enum "PrincipalType" cannot represent non-enum value.',
    );
    expect(withoutInputValues(`Value "${canary}" does not exist in "PrincipalType" enum. Did you mean X?`)).toBe(
      'Value does not exist in "PrincipalType" enum.',
    );
    expect(withoutInputValues('Cannot query field "x" on type "Query".')).toBe('Cannot query field "x" on type "Query".');
  });
});

describe('master key file', () => {
  it('is generated once with mode 0600, reused afterwards, and a configured key wins', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'tenantry-key-'));
    try {
      const first = resolveMasterKey(null, dir);
      const file = path.join(dir, MASTER_KEY_FILE);
      expect(first).toHaveLength(32);
      expect(statSync(file).mode & 0o777).toBe(0o600);
      expect(Buffer.from(readFileSync(file, 'utf8').trim(), 'base64').equals(first)).toBe(true);
      expect(resolveMasterKey(null, dir).equals(first)).toBe(true);
      const configured = Buffer.alloc(32, 1);
      expect(resolveMasterKey(configured, dir)).toBe(configured);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses a damaged key file instead of silently making a new key', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'tenantry-key-'));
    try {
      writeFileSync(path.join(dir, MASTER_KEY_FILE), 'c2hvcnQ=\n');
      expect(() => resolveMasterKey(null, dir)).toThrow(/32 bytes/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
