/**
 * The shape of errors for bad input, at the resolvers (executeOperation,
 * test/support/operations.ts): each has a message, the path of the field
 * that failed, and `extensions.code` from the contract (docs/api.md), with
 * `extensions.field` naming the input at fault where there is one; nothing
 * else of the server (no stack trace, no exception) leaves. Refused
 * mutations answer null beside their error and write nothing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCode } from '../../../src/shared/errors.js';
import { expectData } from '../../support/gateway.js';
import { startResolverFixture, type OperationOptions, type ResolverFixture } from '../../support/operations.js';

const TENANT = 'acme';

interface Case {
  name: string;
  query: string;
  variables?: Record<string, unknown>;
  options?: OperationOptions;
  code: string;
  /** The root field that failed (null: refused before execution, no data at all). */
  path: string | null;
  field?: string;
  /** The field is non-null (a query): its error nulls the whole data. */
  nonNull?: true;
}

const cases: Case[] = [
  {
    name: 'invalid tenant id',
    query: `mutation($id: ID!) { createTenant(input: { id: $id, name: "x" }) { id } }`,
    variables: { id: 'Not Valid' },
    options: { tenant: null },
    code: 'BAD_USER_INPUT',
    path: 'createTenant',
    field: 'id',
  },
  {
    name: 'invalid namespace id',
    query: `mutation($id: ID!) { createNamespace(input: { id: $id }) { id } }`,
    variables: { id: 'a..b' },
    code: 'BAD_USER_INPUT',
    path: 'createNamespace',
    field: 'id',
  },
  {
    name: 'variables that are not an object',
    query: `mutation { updateNamespace(id: "company", input: { variables: [1] }) { id } }`,
    code: 'BAD_USER_INPUT',
    path: 'updateNamespace',
    field: 'variables',
  },
  {
    name: 'a flow source that is not YAML',
    query: `mutation($s: String!) { createFlow(source: $s) { id } }`,
    variables: { s: 'id: [unclosed' },
    code: 'BAD_USER_INPUT',
    path: 'createFlow',
  },
  {
    name: 'an empty secret value',
    query: `mutation { putSecret(input: { namespace: "company", key: "K", value: "" }) { key } }`,
    code: 'BAD_USER_INPUT',
    path: 'putSecret',
  },
  {
    name: 'a stale expectedRevision',
    query: `mutation { updateNamespace(id: "company", input: { description: "d" }, expectedRevision: 7) { id } }`,
    code: 'CONFLICT',
    path: 'updateNamespace',
  },
  {
    name: 'a namespace that does not exist',
    query: `mutation { updateNamespace(id: "missing", input: { description: "d" }) { id } }`,
    code: 'NOT_FOUND',
    path: 'updateNamespace',
  },
  {
    name: 'an unknown tenant',
    query: `{ namespaces { id } }`,
    options: { tenant: 'nope' },
    code: 'TENANT_NOT_FOUND',
    path: 'namespaces',
    nonNull: true,
  },
  {
    name: 'no tenant selected',
    query: `{ namespaces { id } }`,
    options: { tenant: null },
    code: 'TENANT_NOT_FOUND',
    path: 'namespaces',
    nonNull: true,
  },
  {
    name: 'deleting the main tenant',
    query: `mutation { deleteTenant(id: "main") { id } }`,
    options: { tenant: null },
    code: 'BAD_USER_INPUT',
    path: 'deleteTenant',
    field: 'id',
  },
  { name: 'a syntax error', query: `mutation { createNamespace(input: { id: "y" }) { id `, code: 'BAD_USER_INPUT', path: null },
  {
    name: 'an unknown input field',
    query: `mutation { createNamespace(input: { id: "y", bogus: 1 }) { id } }`,
    code: 'BAD_USER_INPUT',
    path: null,
  },
  {
    name: 'a variable of the wrong type',
    query: `mutation($id: ID!) { createNamespace(input: { id: $id }) { id } }`,
    variables: { id: { not: 'an id' } },
    code: 'BAD_USER_INPUT',
    path: null,
  },
];

describe('error shape for bad input (executeOperation, memory stores)', () => {
  let fx: ResolverFixture;

  beforeAll(async () => {
    fx = await startResolverFixture();
    expectData(
      await fx.run(
        `mutation { createTenant(input: { id: "${TENANT}", name: "Acme", adminUserId: "admin" }) { id } }`,
        {},
        { tenant: null },
      ),
    );
    expectData(await fx.run(`mutation { createNamespace(input: { id: "company" }) { id } }`, {}, { tenant: TENANT }));
  });
  afterAll(async () => {
    await fx.dispose();
  });

  it.each(cases)('$name → $code', async ({ query, variables, options, code, path, field, nonNull }) => {
    const before = await fx.eventCount();
    const result = await fx.run(query, variables, { tenant: TENANT, ...options });
    expect(result.errors, JSON.stringify(result)).toHaveLength(1);
    const [error] = result.errors!;
    expect(error!.extensions.code).toBe(code);
    expect(Object.values(ErrorCode)).toContain(error!.extensions.code);
    expect(error!.message).toBeTypeOf('string');
    expect(error!.message.length).toBeGreaterThan(0);
    // Nothing of the server's inside: Apollo's stack trace and exception are never sent.
    expect(error!.extensions).not.toHaveProperty('stacktrace');
    expect(error!.extensions).not.toHaveProperty('exception');
    if (field) expect(error!.extensions['field']).toBe(field);
    if (path === null) {
      expect(error!.path).toBeUndefined();
      expect(result.data).toBeUndefined();
    } else {
      expect(error!.path).toEqual([path]);
      expect(result.data).toEqual(nonNull ? null : { [path]: null });
    }
    expect(result.position).toBe(0);
    expect(await fx.eventCount()).toBe(before);
  });

  it('in a request with two mutations, the refused one answers null with its error while the other is stored', async () => {
    const before = await fx.eventCount();
    const result = await fx.run<{ good: { id: string } | null; bad: null }>(
      `mutation { good: createNamespace(input: { id: "company.team" }) { id } bad: createNamespace(input: { id: "company" }) { id } }`,
      {},
      { tenant: TENANT },
    );
    expect(result.data).toEqual({ good: { id: 'company.team' }, bad: null });
    expect(result.errors?.map((e) => [e.path, e.extensions.code])).toEqual([[['bad'], 'CONFLICT']]);
    expect(result.position).toBeGreaterThan(before);
    expect(await fx.eventCount()).toBeGreaterThan(before);
  });
});
