/**
 * A real `@apollo/client` with its default `InMemoryCache` (no typePolicies,
 * no dataIdFromObject) against the gateway's v2 endpoint: one cache for two
 * tenants, the same flow id in two namespaces, tasks with the same id in two
 * flows, a read at a revision and an `asOf` read beside the current object.
 * Every answer, and the cache's answer afterwards, stays right.
 *
 * The last test runs the same reads on v1, whose `id` is the natural key:
 * there the stock cache does merge different objects, which is why v2 exists
 * (docs/api-v2.md).
 */
import { ApolloClient, HttpLink, InMemoryCache, gql } from '@apollo/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTenant } from '../support/access.js';
import { ADMIN_TOKEN, expectData, startTestGateway, type TestGateway } from '../support/gateway.js';

const FLOWS = gql`
  query Flows($tenant: ID) {
    flows(first: 10, tenant: $tenant) {
      edges {
        node {
          id
          flowId
          namespace
          description
          tasks {
            taskId
            type
          }
        }
      }
    }
  }
`;
const FLOW = gql`
  query Flow($tenant: ID, $namespace: String!, $id: ID!, $revision: Int) {
    flow(tenant: $tenant, namespace: $namespace, id: $id, revision: $revision) {
      id
      flowId
      revision
      description
    }
  }
`;
const NAMESPACE = gql`
  query Namespace($tenant: ID, $id: ID!, $asOf: DateTime) {
    namespace(tenant: $tenant, id: $id, asOf: $asOf) {
      id
      namespaceId
      description
    }
  }
`;

type FlowNode = { flowId: string; namespace: string; description: string | null; tasks: { taskId: string; type: string }[] };

const source = (namespace: string, description: string, taskType: string) =>
  `id: hello\nnamespace: ${namespace}\ndescription: ${description}\ntasks:\n  - id: hello\n    type: ${taskType}\n`;

describe('Apollo Client with its default InMemoryCache', () => {
  let gw: TestGateway;
  let beforeUpdate: string;
  /** Requests the clients sent (to tell cache answers from network ones). */
  let requests = 0;

  /** One client, one cache, for every tenant: the operation's context names the tenant (as a multi-tenant console would). */
  const client = (api: 'v1' | 'v2') =>
    new ApolloClient({
      cache: new InMemoryCache(),
      link: new HttpLink({
        uri: (operation) => `${gw.url}/api/${api}/${(operation.getContext()['tenant'] as string | undefined) ?? 'acme'}/graphql`,
        headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
        fetch: (input, init) => {
          requests++;
          return fetch(input, init);
        },
      }),
    });

  beforeAll(async () => {
    gw = await startTestGateway();
    for (const tenant of ['acme', 'globex']) {
      await createTenant(gw, tenant);
      for (const [namespace, type] of [
        ['company.team', 'io.kestra.plugin.core.log.Log'],
        ['company.ops', 'io.kestra.plugin.scripts.shell.Commands'],
      ] as const) {
        expectData(
          await gw.gql(
            `mutation($id: ID!, $d: String) { createNamespace(input: { id: $id, description: $d }) { id } }`,
            { id: namespace, d: `${tenant} ${namespace} at first` },
            { tenant },
          ),
        );
        expectData(
          await gw.gql(
            `mutation($s: String!) { createFlow(source: $s) { id } }`,
            { s: source(namespace, `${tenant} ${namespace} v1`, type) },
            { tenant },
          ),
        );
      }
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
    beforeUpdate = new Date().toISOString();
    await new Promise((resolve) => setTimeout(resolve, 20));
    expectData(
      await gw.gql(
        `mutation($s: String!) { updateFlow(namespace: "company.team", id: "hello", source: $s) { revision } }`,
        { s: source('company.team', 'acme company.team v2', 'io.kestra.plugin.core.log.Log') },
        { tenant: 'acme' },
      ),
    );
    expectData(
      await gw.gql(
        `mutation { updateNamespace(id: "company.team", input: { description: "acme company.team now" }) { revision } }`,
        {},
        { tenant: 'acme' },
      ),
    );
  }, 120_000);
  afterAll(async () => {
    await gw?.dispose();
  });

  it('v2: two tenants, the same ids, revisions and asOf in one cache stay apart, from the network and from the cache', async () => {
    const apollo = client('v2');
    // The default fetch policy (cache-first): what the cache answers is what a frontend shows.
    const flowsOf = async (tenant: string) =>
      (
        (await apollo.query({ query: FLOWS, variables: { tenant }, context: { tenant } })).data as {
          flows: { edges: { node: FlowNode }[] };
        }
      ).flows.edges.map((e) => e.node);
    const summary = (flows: FlowNode[]) => flows.map((f) => [f.namespace, f.description, f.tasks.map((t) => `${t.taskId}:${t.type}`)]);
    const expected = (tenant: string, team: string) => [
      ['company.ops', `${tenant} company.ops v1`, ['hello:io.kestra.plugin.scripts.shell.Commands']],
      ['company.team', team, ['hello:io.kestra.plugin.core.log.Log']],
    ];
    expect(summary(await flowsOf('acme'))).toEqual(expected('acme', 'acme company.team v2'));
    expect(summary(await flowsOf('globex'))).toEqual(expected('globex', 'globex company.team v1'));
    const sent = requests;
    // Back to acme: answered by the cache (no request), and still acme's flows with their own tasks.
    expect(summary(await flowsOf('acme'))).toEqual(expected('acme', 'acme company.team v2'));
    expect(summary(await flowsOf('globex'))).toEqual(expected('globex', 'globex company.team v1'));
    expect(requests).toBe(sent);

    const flow = async (revision: number | null) =>
      (
        (
          await apollo.query({
            query: FLOW,
            variables: { tenant: 'acme', namespace: 'company.team', id: 'hello', revision },
            context: { tenant: 'acme' },
          })
        ).data as {
          flow: { id: string; revision: number; description: string };
        }
      ).flow;
    const current = await flow(null);
    const first = await flow(1);
    expect(current).toMatchObject({ revision: 2, description: 'acme company.team v2' });
    expect(first).toMatchObject({ revision: 1, description: 'acme company.team v1' });
    expect(apollo.cache.identify(current as never)).not.toBe(apollo.cache.identify(first as never));
    // The read at revision 1 did not overwrite the current flow: the cache still answers revision 2.
    const before = requests;
    expect(await flow(null)).toMatchObject({ revision: 2, description: 'acme company.team v2' });
    expect(requests).toBe(before);

    const namespace = async (asOf: string | null) =>
      (
        (await apollo.query({ query: NAMESPACE, variables: { tenant: 'acme', id: 'company.team', asOf }, context: { tenant: 'acme' } }))
          .data as {
          namespace: { description: string };
        }
      ).namespace.description;
    expect(await namespace(null)).toBe('acme company.team now');
    expect(await namespace(beforeUpdate)).toBe('acme company.team at first');
    expect(await namespace(null)).toBe('acme company.team now');
  });

  it('v1 (id = natural key) with the same cache merges what v2 keeps apart: the reason for v2', async () => {
    const apollo = client('v1');
    const V1_FLOWS = gql`
      query V1Flows {
        flows(first: 10) {
          edges {
            node {
              id
              namespace
              description
              tasks {
                id
                type
              }
            }
          }
        }
      }
    `;
    const read = (await apollo.query({ query: V1_FLOWS, context: { tenant: 'acme' } })).data as {
      flows: { edges: { node: { namespace: string; tasks: { type: string }[] } }[] };
    };
    const namespaces = read.flows.edges.map((e) => e.node.namespace);
    // Both flows are `Flow:hello` in the cache: the page shows one of them twice.
    expect(new Set(namespaces).size).toBe(1);
  });
});
