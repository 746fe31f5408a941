// typescript-eslint with type-checked rules: it catches floating promises and
// unsafe any flows that matter in async resolver and projection code.
import js from '@eslint/js';
import graphql from '@graphql-eslint/eslint-plugin';
import tseslint from 'typescript-eslint';

// The TypeScript rules below are for code; schema.graphql gets only the schema rules.
const code = ['**/*.{js,mjs,cjs,ts,mts,cts}'];

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'coverage/**', 'ui/dist/**', 'bin/**', 'scripts/**', '*.config.*', '.dependency-cruiser.cjs', '.test-build-*/**', 'examples/*/src/gql/**'] },
  { ...js.configs.recommended, files: code },
  ...tseslint.configs.recommendedTypeChecked.map((config) => ({ ...config, files: config.files ?? code })),
  {
    files: code,
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_' }],
      '@typescript-eslint/no-floating-promises': 'error',
      // type-graphql resolvers and Apollo plugin hooks are async by contract.
      '@typescript-eslint/require-await': 'off',
    },
  },
  {
    files: ['test/**/*.ts', 'bench/**/*.ts'],
    rules: {
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-non-null-assertion': 'off',
    },
  },
  // The generated schemas (npm run schema): every type, field, argument and enum value says what it is,
  // for the frontends and tools that read schema.graphql / schema.v2.graphql or GET /api/v{1,2}/schema.graphql.
  ...['schema.graphql', 'schema.v2.graphql'].map((file) => ({
    files: [file],
    languageOptions: { parser: graphql.parser, parserOptions: { graphQLConfig: { schema: file } } },
    plugins: { '@graphql-eslint': graphql },
    rules: {
      '@graphql-eslint/require-description': [
        'error',
        {
          types: true,
          rootField: true,
          FieldDefinition: true,
          InputValueDefinition: true,
          EnumValueDefinition: true,
          DirectiveDefinition: true,
        },
      ],
    },
  })),
);
