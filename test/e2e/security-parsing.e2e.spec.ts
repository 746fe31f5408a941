import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bind, createTenant, createUserWithToken } from '../support/access.js';
import { ADMIN_TOKEN, errorCode, startTestGateway, type TestGateway } from '../support/gateway.js';

/**
 * Issue 14, "parsing is bounded and happens after authorization": a flow
 * source costs CPU to parse, so a caller without the right is refused before
 * it is parsed, and what is parsed is bounded (size, aliases, merge keys,
 * depth).
 */

const CREATE = `mutation($s: String!) { createFlow(source: $s) { id } }`;

/** A "billion laughs" made of YAML 1.1 merge keys: each level merges the previous one twice. */
function mergeKeyBomb(levels: number): string {
  let source = '%YAML 1.1\n---\nid: bomb\nnamespace: company\ntasks:\n  - id: t\n    type: io.kestra.plugin.core.log.Log\n';
  source += 'l0: &l0 {a: 1, b: 2, c: 3, d: 4, e: 5, f: 6, g: 7, h: 8}\n';
  for (let i = 1; i <= levels; i++) source += `l${i}: &l${i}\n  x: {<<: *l${i - 1}}\n  y: {<<: *l${i - 1}}\n`;
  return source;
}

/** The same with plain aliases in sequences (the classic form). */
function aliasBomb(levels: number): string {
  let source = 'id: bomb\nnamespace: company\ntasks:\n  - id: t\n    type: io.kestra.plugin.core.log.Log\nl0: &l0 [lol, lol, lol]\n';
  for (let i = 1; i <= levels; i++) source += `l${i}: &l${i} [${Array.from({ length: 9 }, () => `*l${i - 1}`).join(', ')}]\n`;
  return source;
}

describe('security: parsing is bounded and happens after authorization', () => {
  let gw: TestGateway;
  let viewer: string;
  beforeAll(async () => {
    gw = await startTestGateway();
    await createTenant(gw, 'acme');
    await gw.gql(`mutation { createNamespace(input: {id: "company"}) { id } }`, {}, { tenant: 'acme' });
    viewer = await createUserWithToken(gw, 'viewer');
    await bind(gw, 'acme', { principalType: 'USER', principalId: 'viewer', roleId: 'viewer' });
  });
  afterAll(async () => {
    await gw.dispose();
  });

  it('a caller who may create flows nowhere is refused before the source is parsed (broken YAML answers FORBIDDEN, not a parse error)', async () => {
    const before = await gw.eventCount();
    for (const source of ['{{{ [[[ not yaml', mergeKeyBomb(30), aliasBomb(9), 'x'.repeat(600 * 1024)]) {
      const result = await gw.gql(CREATE, { s: source }, { tenant: 'acme', token: viewer });
      expect(errorCode(result)).toBe('FORBIDDEN');
      expect(result.errors?.[0]?.extensions['line']).toBeUndefined();
    }
    expect(await gw.eventCount()).toBe(before);
  });

  it('merge-key and alias bombs are refused as RESOURCE_EXHAUSTION before anything is expanded; nothing is written', async () => {
    const before = await gw.eventCount();
    for (const source of [mergeKeyBomb(60), aliasBomb(60)]) {
      const result = await gw.gql(CREATE, { s: source }, { tenant: 'acme' });
      expect(errorCode(result)).toBe('BAD_USER_INPUT');
      expect(result.errors?.[0]?.extensions).toMatchObject({ field: 'source', reason: 'RESOURCE_EXHAUSTION' });
      expect(result.errors?.[0]?.message).toMatch(/more than 100 aliases/);
    }
    expect(await gw.eventCount()).toBe(before);
  });

  it('size and depth stay bounded', async () => {
    const big = await gw.gql(CREATE, { s: `id: big\nnamespace: company\ndescription: "${'x'.repeat(600 * 1024)}"\n` }, { tenant: 'acme' });
    expect(big.errors?.[0]?.message).toMatch(/more than the 524288 allowed/);
    const deep = await gw.gql(CREATE, { s: `id: deep\nnamespace: company\nx: ${'['.repeat(300)}${']'.repeat(300)}\n` }, { tenant: 'acme' });
    expect(deep.errors?.[0]?.message).toMatch(/nested too deeply/);
  });

  it('variables nested thousands of levels deep are refused as QUERY_TOO_COMPLEX before any resolver (found by the fuzz test: a stack overflow)', async () => {
    const before = await gw.eventCount();
    const query = `mutation($v: JSON!) { setNamespaceVariable(id: "company", key: "k", value: $v) { id } }`;
    for (const depth of [65, 5_000, 50_000]) {
      for (const value of [`${'['.repeat(depth)}1${']'.repeat(depth)}`, `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`]) {
        // Spliced as text: JSON.stringify itself overflows on values this deep.
        const response = await fetch(`${gw.url}/api/v1/acme/graphql`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${ADMIN_TOKEN}` },
          body: `{"query":${JSON.stringify(query)},"variables":{"v":${value}}}`,
        });
        expect(response.status).toBe(400);
        const body = (await response.json()) as { errors?: { extensions: { code: string; reason?: string; limit?: number } }[] };
        expect(body.errors?.[0]?.extensions).toMatchObject({ code: 'QUERY_TOO_COMPLEX', reason: 'MAX_VARIABLE_DEPTH', limit: 64 });
      }
    }
    const shallow = await gw.gql(query, { v: { a: [1, { b: 2 }] } }, { tenant: 'acme' });
    expect(shallow.errors).toBeUndefined();
    expect(await gw.eventCount()).toBe(before + 1);
  });
});
