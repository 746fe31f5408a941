/**
 * examples/frontend: the typed client GraphQL Code Generator builds from
 * schema.v2.graphql. Its generated code is checked in and must be what
 * codegen makes from today's schema and operations (a drift fails here, as
 * schema.graphql's does in `npm run lint`); its functions run against a real
 * gateway with Apollo Client's default cache.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { generate } from '@graphql-codegen/cli';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import config from '../../examples/frontend/codegen.js';
import { allFlows, consoleClient, flowThenAndNow, refetch, saveFlow } from '../../examples/frontend/src/client.js';
import { createTenant } from '../support/access.js';
import { ADMIN_TOKEN, expectData, startTestGateway, type TestGateway } from '../support/gateway.js';

const root = path.resolve(import.meta.dirname, '../..');
const source = (namespace: string, description: string) =>
  `id: hello\nnamespace: ${namespace}\ndescription: ${description}\ntasks:\n  - id: log\n    type: io.kestra.plugin.core.log.Log\n`;

describe('examples/frontend (GraphQL Code Generator + Apollo Client)', () => {
  it('its generated code is what codegen makes from schema.v2.graphql and its operations (run npm run example:codegen)', async () => {
    const cwd = process.cwd();
    process.chdir(root);
    try {
      const outputs = (await generate({ ...config, silent: true }, false)) as { filename: string; content: string }[];
      expect(outputs.length).toBeGreaterThan(0);
      for (const output of outputs) {
        expect(
          readFileSync(path.join(root, output.filename), 'utf8'),
          `${output.filename} is out of date: run npm run example:codegen`,
        ).toBe(output.content);
      }
    } finally {
      process.chdir(cwd);
    }
  }, 60_000);

  describe('against a gateway', () => {
    let gw: TestGateway;
    beforeAll(async () => {
      gw = await startTestGateway();
      for (const tenant of ['acme', 'globex']) {
        await createTenant(gw, tenant);
        for (let i = 0; i < 3; i++) {
          expectData(
            await gw.gql(
              `mutation($s: String!) { createFlow(source: $s) { id } }`,
              { s: source(`company.n${i}`, `${tenant} ${i}`) },
              { tenant },
            ),
          );
        }
      }
    }, 120_000);
    afterAll(async () => {
      await gw?.dispose();
    });

    it('pages, reads history, saves and refetches through one typed client for two tenants', async () => {
      const client = consoleClient({ url: gw.url, token: ADMIN_TOKEN });
      const acme = await allFlows(client, 'acme', 2);
      const globex = await allFlows(client, 'globex', 2);
      expect(acme.map((f) => f.description)).toEqual(['acme 0', 'acme 1', 'acme 2']);
      expect(globex.map((f) => f.description)).toEqual(['globex 0', 'globex 1', 'globex 2']);
      expect(new Set([...acme, ...globex].map((f) => f.id)).size).toBe(6);

      const saved = await saveFlow(client, 'acme', 'company.n0', 'hello', source('company.n0', 'acme 0 again'));
      expect(saved).toMatchObject({ revision: 2, description: 'acme 0 again' });
      const { now, then } = await flowThenAndNow(client, 'acme', 'company.n0', 'hello', 1);
      expect(now).toMatchObject({ revision: 2, description: 'acme 0 again' });
      expect(then).toMatchObject({ revision: 1, description: 'acme 0' });
      expect(now?.revisions.totalCount).toBe(2);
      // The mutation's answer updated the cached row of the list (same global id).
      const cachedPage = await allFlows(client, 'acme', 2);
      expect(cachedPage[0]).toMatchObject({ revision: 2, description: 'acme 0 again' });

      expect(await refetch(client, 'acme', acme[1]!.id)).toMatchObject({ __typename: 'Flow', flowId: 'hello', namespace: 'company.n1' });
      expect(await refetch(client, 'globex', acme[1]!.id)).toBeNull();
    });
  });
});
