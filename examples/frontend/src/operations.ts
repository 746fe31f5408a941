/**
 * The example client's operations. GraphQL Code Generator reads the
 * `graphql(...)` calls here and writes their types into ./gql/, so every
 * document below is typed end to end: variables in, data out.
 */
import { graphql } from './gql/index.js';

/** A page of flows, one tenant's: `tenant` keeps the cache's entry per tenant (docs/api-v2.md). */
export const FlowsPage = graphql(`
  query FlowsPage($tenant: ID, $first: Int, $after: String) {
    flows(tenant: $tenant, first: $first, after: $after) {
      totalCount
      edges {
        cursor
        node {
          id
          flowId
          namespace
          revision
          description
          tasks {
            taskId
            type
          }
        }
      }
      pageInfo {
        hasNextPage
        endCursor
      }
    }
  }
`);

/** One flow, current or at a revision, with its newest revisions. */
export const FlowWithRevisions = graphql(`
  query FlowWithRevisions($tenant: ID, $namespace: String!, $id: ID!, $revision: Int) {
    flow(tenant: $tenant, namespace: $namespace, id: $id, revision: $revision) {
      id
      flowId
      namespace
      revision
      description
      revisions(last: 5) {
        totalCount
        edges {
          node {
            id
            revision
            updatedAt
          }
        }
      }
    }
  }
`);

/** Any entity again by its global id. */
export const Refetch = graphql(`
  query Refetch($id: ID!) {
    node(id: $id) {
      id
      __typename
      ... on Flow {
        flowId
        namespace
        revision
      }
      ... on Namespace {
        namespaceId
        description
      }
    }
  }
`);

/** Saves a new revision: the answer's id is the current flow's, so the cache updates every view of it. */
export const UpdateFlow = graphql(`
  mutation UpdateFlow($namespace: String!, $id: ID!, $source: String!) {
    updateFlow(namespace: $namespace, id: $id, source: $source) {
      id
      revision
      description
    }
  }
`);
