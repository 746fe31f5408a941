/* eslint-disable */
import * as types from './graphql.js';
import type { TypedDocumentNode as DocumentNode } from '@graphql-typed-document-node/core';

/**
 * Map of all GraphQL operations in the project.
 *
 * This map has several performance disadvantages:
 * 1. It is not tree-shakeable, so it will include all operations in the project.
 * 2. It is not minifiable, so the string of a GraphQL query will be multiple times inside the bundle.
 * 3. It does not support dead code elimination, so it will add unused operations.
 *
 * Therefore it is highly recommended to use the babel or swc plugin for production.
 * Learn more about it here: https://the-guild.dev/graphql/codegen/plugins/presets/preset-client#reducing-bundle-size
 */
type Documents = {
    "\n  query FlowsPage($tenant: ID, $first: Int, $after: String) {\n    flows(tenant: $tenant, first: $first, after: $after) {\n      totalCount\n      edges {\n        cursor\n        node {\n          id\n          flowId\n          namespace\n          revision\n          description\n          tasks {\n            taskId\n            type\n          }\n        }\n      }\n      pageInfo {\n        hasNextPage\n        endCursor\n      }\n    }\n  }\n": typeof types.FlowsPageDocument,
    "\n  query FlowWithRevisions($tenant: ID, $namespace: String!, $id: ID!, $revision: Int) {\n    flow(tenant: $tenant, namespace: $namespace, id: $id, revision: $revision) {\n      id\n      flowId\n      namespace\n      revision\n      description\n      revisions(last: 5) {\n        totalCount\n        edges {\n          node {\n            id\n            revision\n            updatedAt\n          }\n        }\n      }\n    }\n  }\n": typeof types.FlowWithRevisionsDocument,
    "\n  query Refetch($id: ID!) {\n    node(id: $id) {\n      id\n      __typename\n      ... on Flow {\n        flowId\n        namespace\n        revision\n      }\n      ... on Namespace {\n        namespaceId\n        description\n      }\n    }\n  }\n": typeof types.RefetchDocument,
    "\n  mutation UpdateFlow($namespace: String!, $id: ID!, $source: String!) {\n    updateFlow(namespace: $namespace, id: $id, source: $source) {\n      id\n      revision\n      description\n    }\n  }\n": typeof types.UpdateFlowDocument,
};
const documents: Documents = {
    "\n  query FlowsPage($tenant: ID, $first: Int, $after: String) {\n    flows(tenant: $tenant, first: $first, after: $after) {\n      totalCount\n      edges {\n        cursor\n        node {\n          id\n          flowId\n          namespace\n          revision\n          description\n          tasks {\n            taskId\n            type\n          }\n        }\n      }\n      pageInfo {\n        hasNextPage\n        endCursor\n      }\n    }\n  }\n": types.FlowsPageDocument,
    "\n  query FlowWithRevisions($tenant: ID, $namespace: String!, $id: ID!, $revision: Int) {\n    flow(tenant: $tenant, namespace: $namespace, id: $id, revision: $revision) {\n      id\n      flowId\n      namespace\n      revision\n      description\n      revisions(last: 5) {\n        totalCount\n        edges {\n          node {\n            id\n            revision\n            updatedAt\n          }\n        }\n      }\n    }\n  }\n": types.FlowWithRevisionsDocument,
    "\n  query Refetch($id: ID!) {\n    node(id: $id) {\n      id\n      __typename\n      ... on Flow {\n        flowId\n        namespace\n        revision\n      }\n      ... on Namespace {\n        namespaceId\n        description\n      }\n    }\n  }\n": types.RefetchDocument,
    "\n  mutation UpdateFlow($namespace: String!, $id: ID!, $source: String!) {\n    updateFlow(namespace: $namespace, id: $id, source: $source) {\n      id\n      revision\n      description\n    }\n  }\n": types.UpdateFlowDocument,
};

/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 *
 *
 * @example
 * ```ts
 * const query = graphql(`query GetUser($id: ID!) { user(id: $id) { name } }`);
 * ```
 *
 * The query argument is unknown!
 * Please regenerate the types.
 */
export function graphql(source: string): unknown;

/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query FlowsPage($tenant: ID, $first: Int, $after: String) {\n    flows(tenant: $tenant, first: $first, after: $after) {\n      totalCount\n      edges {\n        cursor\n        node {\n          id\n          flowId\n          namespace\n          revision\n          description\n          tasks {\n            taskId\n            type\n          }\n        }\n      }\n      pageInfo {\n        hasNextPage\n        endCursor\n      }\n    }\n  }\n"): (typeof documents)["\n  query FlowsPage($tenant: ID, $first: Int, $after: String) {\n    flows(tenant: $tenant, first: $first, after: $after) {\n      totalCount\n      edges {\n        cursor\n        node {\n          id\n          flowId\n          namespace\n          revision\n          description\n          tasks {\n            taskId\n            type\n          }\n        }\n      }\n      pageInfo {\n        hasNextPage\n        endCursor\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query FlowWithRevisions($tenant: ID, $namespace: String!, $id: ID!, $revision: Int) {\n    flow(tenant: $tenant, namespace: $namespace, id: $id, revision: $revision) {\n      id\n      flowId\n      namespace\n      revision\n      description\n      revisions(last: 5) {\n        totalCount\n        edges {\n          node {\n            id\n            revision\n            updatedAt\n          }\n        }\n      }\n    }\n  }\n"): (typeof documents)["\n  query FlowWithRevisions($tenant: ID, $namespace: String!, $id: ID!, $revision: Int) {\n    flow(tenant: $tenant, namespace: $namespace, id: $id, revision: $revision) {\n      id\n      flowId\n      namespace\n      revision\n      description\n      revisions(last: 5) {\n        totalCount\n        edges {\n          node {\n            id\n            revision\n            updatedAt\n          }\n        }\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query Refetch($id: ID!) {\n    node(id: $id) {\n      id\n      __typename\n      ... on Flow {\n        flowId\n        namespace\n        revision\n      }\n      ... on Namespace {\n        namespaceId\n        description\n      }\n    }\n  }\n"): (typeof documents)["\n  query Refetch($id: ID!) {\n    node(id: $id) {\n      id\n      __typename\n      ... on Flow {\n        flowId\n        namespace\n        revision\n      }\n      ... on Namespace {\n        namespaceId\n        description\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation UpdateFlow($namespace: String!, $id: ID!, $source: String!) {\n    updateFlow(namespace: $namespace, id: $id, source: $source) {\n      id\n      revision\n      description\n    }\n  }\n"): (typeof documents)["\n  mutation UpdateFlow($namespace: String!, $id: ID!, $source: String!) {\n    updateFlow(namespace: $namespace, id: $id, source: $source) {\n      id\n      revision\n      description\n    }\n  }\n"];

export function graphql(source: string) {
  return (documents as any)[source] ?? {};
}

export type DocumentType<TDocumentNode extends DocumentNode<any, any>> = TDocumentNode extends DocumentNode<  infer TType,  any>  ? TType  : never;