/**
 * Several mutations in one request: every mutation field is nullable, so one
 * that fails answers null with its error (whose path names its field or
 * alias) and the others keep their data. A client can tell what was written.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTenant } from '../support/access.js';
import { expectData, startTestGateway, type TestGateway } from '../support/gateway.js';

interface Created {
  id: string;
  revision: number;
}

describe('a request with several mutations, one of which fails', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startTestGateway();
    await createTenant(gw, 'acme');
  });
  afterAll(async () => {
    await gw.dispose();
  });

  const stored = async (id: string): Promise<Created | null> =>
    expectData(
      await gw.gql<{ namespace: Created | null }>(`query($id: ID!) { namespace(id: $id) { id revision } }`, { id }, { tenant: 'acme' }),
    ).namespace;

  it('keeps the data of the mutation that succeeded before the one that failed, and its change is stored', async () => {
    expectData(await gw.gql(`mutation { createNamespace(input: {id: "taken"}) { id } }`, {}, { tenant: 'acme' }));
    const before = await gw.eventCount();
    const result = await gw.gql<{ first: Created | null; second: Created | null }>(
      `mutation {
        first: createNamespace(input: {id: "partial.first"}) { id revision }
        second: createNamespace(input: {id: "taken"}) { id revision }
      }`,
      {},
      { tenant: 'acme' },
    );
    expect(result.status).toBe(200);
    expect(result.data).toEqual({ first: { id: 'partial.first', revision: 1 }, second: null });
    expect(result.errors).toHaveLength(1);
    expect(result.errors?.[0]).toMatchObject({ path: ['second'], extensions: { code: 'CONFLICT' } });
    // The first one's change is in the log and in the read model, the second wrote nothing.
    expect(await gw.eventCount()).toBe(before + 1);
    expect(await stored('partial.first')).toEqual({ id: 'partial.first', revision: 1 });
  });

  it('runs the mutations after a failed one too, in order: a document is not a transaction', async () => {
    const result = await gw.gql<{ updateNamespace: Created | null; createNamespace: Created | null }>(
      `mutation {
        updateNamespace(id: "taken", input: {description: "stale"}, expectedRevision: 99) { id revision }
        createNamespace(input: {id: "partial.after"}) { id revision }
      }`,
      {},
      { tenant: 'acme' },
    );
    expect(result.data).toEqual({ updateNamespace: null, createNamespace: { id: 'partial.after', revision: 1 } });
    expect(result.errors?.[0]).toMatchObject({ path: ['updateNamespace'], extensions: { code: 'CONFLICT', actualRevision: 1 } });
    expect(await stored('partial.after')).toEqual({ id: 'partial.after', revision: 1 });
  });

  it('answers a single failing mutation with its field null and the error, not data: null', async () => {
    const result = await gw.gql(`mutation { createNamespace(input: {id: "taken"}) { id } }`, {}, { tenant: 'acme' });
    expect(result.data).toEqual({ createNamespace: null });
    expect(result.errors?.[0]).toMatchObject({ path: ['createNamespace'], extensions: { code: 'CONFLICT' } });
  });
});
