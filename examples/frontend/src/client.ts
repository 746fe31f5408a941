/**
 * A small typed client of the v2 API: Apollo Client with its default
 * InMemoryCache (no typePolicies), the documents GraphQL Code Generator typed
 * from schema.v2.graphql (./gql/), one cache shared by every tenant the user
 * opens. Everything here is checked by TypeScript against the schema: a
 * renamed field or a wrong variable fails `npm run typecheck`.
 */
import { ApolloClient, HttpLink, InMemoryCache } from '@apollo/client';
import type { FlowsPageQuery } from './gql/graphql.js';
import possibleTypes from './gql/possible-types.js';
import { FlowWithRevisions, FlowsPage, Refetch, UpdateFlow } from './operations.js';

export type FlowRow = FlowsPageQuery['flows']['edges'][number]['node'];

export interface ConsoleOptions {
  /** The gateway, e.g. http://127.0.0.1:4000 */
  url: string;
  /** An API token (Bearer). */
  token: string;
}

/** One client for a console that switches between tenants: the operation's context names the tenant's endpoint. */
export function consoleClient({ url, token }: ConsoleOptions): ApolloClient {
  return new ApolloClient({
    // No typePolicies: global ids are enough. possibleTypes (generated) lets it match fragments on Node's types.
    cache: new InMemoryCache({ possibleTypes: possibleTypes.possibleTypes }),
    link: new HttpLink({
      uri: (operation) => `${url}/api/v2/${encodeURIComponent(String(operation.getContext()['tenant']))}/graphql`,
      headers: { authorization: `Bearer ${token}` },
    }),
  });
}

/** Every flow of a tenant, page by page (cursor pagination). */
export async function allFlows(client: ApolloClient, tenant: string, pageSize = 50): Promise<FlowRow[]> {
  const flows: FlowRow[] = [];
  let after: string | null = null;
  for (;;) {
    const { data }: { data: FlowsPageQuery | undefined } = await client.query({
      query: FlowsPage,
      variables: { tenant, first: pageSize, after },
      context: { tenant },
    });
    if (!data) throw new Error('no data');
    flows.push(...data.flows.edges.map((edge) => edge.node));
    if (!data.flows.pageInfo.hasNextPage) return flows;
    after = data.flows.pageInfo.endCursor ?? null;
  }
}

/** A flow now and at a revision: two objects in the cache, neither overwriting the other. */
export async function flowThenAndNow(client: ApolloClient, tenant: string, namespace: string, id: string, revision: number) {
  const read = (at: number | null) =>
    client
      .query({ query: FlowWithRevisions, variables: { tenant, namespace, id, revision: at }, context: { tenant } })
      .then(({ data }) => data?.flow ?? null);
  const now = await read(null);
  const then = await read(revision);
  return { now, then };
}

/** Saves a new revision; the cached current flow (same global id) shows it at once. */
export async function saveFlow(client: ApolloClient, tenant: string, namespace: string, id: string, source: string) {
  const { data } = await client.mutate({ mutation: UpdateFlow, variables: { namespace, id, source }, context: { tenant } });
  return data?.updateFlow ?? null;
}

/** Whatever a global id names, again (null: gone, or not visible to this token). */
export async function refetch(client: ApolloClient, tenant: string, id: string) {
  const { data } = await client.query({ query: Refetch, variables: { id }, context: { tenant }, fetchPolicy: 'network-only' });
  return data?.node ?? null;
}
