/**
 * GraphQL Code Generator's configuration for the example client: the
 * operations in src/operations.ts against the checked-in v2 schema
 * (schema.v2.graphql), generating typed documents into src/gql/ with the
 * client preset. Run from the repository root: `npm run example:codegen`.
 */
import type { CodegenConfig } from '@graphql-codegen/cli';

const config: CodegenConfig = {
  schema: 'schema.v2.graphql',
  documents: ['examples/frontend/src/operations.ts'],
  generates: {
    'examples/frontend/src/gql/': {
      preset: 'client',
      presetConfig: { fragmentMasking: false },
      config: {
        scalars: { DateTime: 'string', JSON: 'unknown', Position: 'string' },
        enumsAsTypes: true,
        useTypeImports: true,
        emitLegacyCommonJSImports: false,
      },
    },
    // The implementations of Node: Apollo's cache needs them to match `... on Flow` inside node(id:).
    'examples/frontend/src/gql/possible-types.ts': {
      plugins: ['fragment-matcher'],
      config: { apolloClientVersion: 3, useExplicitTyping: true },
    },
  },
  ignoreNoDocuments: false,
};

export default config;
