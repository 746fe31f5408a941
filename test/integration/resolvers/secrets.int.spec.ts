/**
 * "A secret value can be written but never read back", at the resolvers:
 * a value is put, then every field of every type a client can reach from a
 * secret (putSecret, secrets, a resolved flow that uses it, the audit log)
 * is asked for, the selections built from the schema itself so that a field
 * added later is asked for too. The value is in the vault, and in no answer.
 */
import { randomUUID } from 'node:crypto';
import { getNamedType, isLeafType, isObjectType, type GraphQLField, type GraphQLObjectType } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { schema } from '../../../src/schema/build.js';
import { errorCode, expectData } from '../../support/gateway.js';
import { startResolverFixture, type ResolverFixture } from '../../support/operations.js';

const VALUE = `resolver-canary-${randomUUID()}`;
const TENANT = 'secrets-1';

/** Every field of `type` and of the object types below it, down to `depth`; fields that need arguments are left out. */
function everyField(type: GraphQLObjectType, depth: number): string {
  const selections = Object.values(type.getFields() as Record<string, GraphQLField<unknown, unknown>>)
    .filter((field) => field.args.every((arg) => arg.defaultValue !== undefined || !arg.type.toString().endsWith('!')))
    .map((field) => {
      const named = getNamedType(field.type);
      if (isLeafType(named)) return field.name;
      if (isObjectType(named) && depth > 1) return `${field.name} { ${everyField(named, depth - 1)} }`;
      return null;
    })
    .filter((selection): selection is string => selection !== null);
  return ['__typename', ...selections].join(' ');
}

describe('secret resolvers never answer a value (executeOperation, memory stores)', () => {
  let fx: ResolverFixture;
  let secretFields: string;
  const answers: string[] = [];

  const run = async <T = Record<string, unknown>>(query: string, variables: Record<string, unknown> = {}) => {
    const result = await fx.run<T>(query, variables, { tenant: TENANT });
    answers.push(JSON.stringify(result));
    return result;
  };

  beforeAll(async () => {
    fx = await startResolverFixture();
    const built = await schema();
    secretFields = everyField(built.getType('SecretMetadata') as GraphQLObjectType, 3);
    await fx.createTenant(TENANT, TENANT);
    for (const id of ['company', 'company.team']) {
      expectData(await fx.run(`mutation($id: ID!) { createNamespace(input: { id: $id }) { id } }`, { id }, { tenant: TENANT }));
    }
  });
  afterAll(async () => {
    await fx.dispose();
  });

  it('stores the value in the vault, and answers putSecret with metadata only', async () => {
    const put = await run<{ putSecret: Record<string, unknown> }>(
      `mutation($input: PutSecretInput!) { putSecret(input: $input) { ${secretFields} } }`,
      {
        input: { namespace: 'company', key: 'DB_PASS', value: VALUE, description: 'the database', tags: [{ key: 'team', value: 'data' }] },
      },
    );
    expect(expectData(put).putSecret).toMatchObject({
      __typename: 'SecretMetadata',
      namespace: 'company',
      key: 'DB_PASS',
      description: 'the database',
      tags: [{ __typename: 'Tag', key: 'team', value: 'data' }],
      version: 1,
      valueAvailable: true,
      inheritedFrom: null,
    });
    expect(await fx.app.vault.get(TENANT, 'company', 'DB_PASS', 1)).toBe(VALUE);
  });

  it('lists every field of the secret, own and inherited, without the value', async () => {
    const own = expectData(
      await run<{ secrets: Record<string, unknown>[] }>(`{ secrets(namespace: "company") { ${secretFields} } }`),
    ).secrets;
    expect(own.map((s) => s['key'])).toEqual(['DB_PASS']);
    const inherited = expectData(
      await run<{ secrets: Record<string, unknown>[] }>(
        `{ secrets(namespace: "company.team", includeInherited: true) { ${secretFields} } }`,
      ),
    ).secrets;
    expect(inherited).toEqual([expect.objectContaining({ key: 'DB_PASS', inheritedFrom: 'company' })]);
  });

  it('has no field that answers the value: asking for one is a validation error', async () => {
    for (const field of ['value', 'secret', 'plaintext']) {
      const asked = await run(`{ secrets(namespace: "company") { key ${field} } }`);
      // The gateway answers every invalid request as the client's own mistake (src/schema/errors.ts).
      expect(errorCode(asked)).toBe('BAD_USER_INPUT');
      expect(asked.errors?.[0]?.message).toContain(`Cannot query field "${field}" on type "SecretMetadata"`);
      expect(asked.data).toBeUndefined();
    }
  });

  it('a flow that uses the secret resolves its reference, not its value', async () => {
    const source = `id: uses\nnamespace: company.team\ntasks:\n  - id: log\n    type: io.kestra.plugin.core.log.Log\n    message: "{{ secret('DB_PASS') }}"\n`;
    expectData(await run(`mutation($s: String!) { createFlow(source: $s) { id } }`, { s: source }));
    const built = await schema();
    const resolved = await run<{ resolvedFlow: Record<string, unknown> }>(
      `{ resolvedFlow(namespace: "company.team", id: "uses") { ${everyField(built.getType('ResolvedFlow') as GraphQLObjectType, 4)} } }`,
    );
    expect(JSON.stringify(expectData(resolved).resolvedFlow)).toContain('DB_PASS');
  });

  it('a second put bumps the version; the audit log records the puts without the value', async () => {
    expectData(
      await run(`mutation($input: PutSecretInput!) { putSecret(input: $input) { version } }`, {
        input: { namespace: 'company', key: 'DB_PASS', value: `${VALUE}-2` },
      }),
    );
    expect(await fx.app.vault.get(TENANT, 'company', 'DB_PASS', 2)).toBe(`${VALUE}-2`);
    const built = await schema();
    const audit = await run<{ auditLogs: { edges: unknown[] } }>(
      `{ auditLogs(first: 50) { edges { node { ${everyField(built.getType('AuditLogEntry') as GraphQLObjectType, 3)} } } } }`,
    );
    expect(JSON.stringify(expectData(audit).auditLogs)).toContain('DB_PASS');
  });

  it('no answer of this file holds the value', () => {
    expect(answers.length).toBeGreaterThanOrEqual(8);
    for (const answer of answers) expect(answer).not.toContain(VALUE);
  });
});
