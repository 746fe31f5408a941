/**
 * The layers of src/, checked by `npm run lint` (dependency-cruiser):
 *
 *   cli, server            the entry points: they wire everything
 *   schema                 GraphQL types and resolvers: call the application only
 *   application, auth      use cases, authorization
 *   aggregates, projections, commands, events   the domain and its read side
 *   eventstore, readmodels, secrets, ledger     the stores behind their ports
 *   shared, config         used by all, use none of the above
 *
 * An arrow only points down (or sideways where a rule below allows it), and
 * nothing imports in a circle.
 */
const layer = (...dirs) => `^src/(${dirs.join('|')})/`;

module.exports = {
  forbidden: [
    { name: 'no-circular', comment: 'No import cycles.', severity: 'error', from: {}, to: { circular: true } },
    {
      name: 'shared-and-config-stand-alone',
      comment: 'shared/ and config/ are used by every layer and use none.',
      severity: 'error',
      from: { path: layer('shared', 'config') },
      to: { path: '^src/', pathNot: layer('shared', 'config') },
    },
    {
      name: 'stores-below-the-domain',
      comment: 'The stores know their ports, shared helpers and the configuration, nothing above them.',
      severity: 'error',
      from: { path: layer('eventstore', 'readmodels') },
      to: { path: layer('aggregates', 'projections', 'commands', 'application', 'auth', 'schema', 'server', 'cli') },
    },
    {
      name: 'adapters-not-on-the-test-adapter',
      comment: 'The durable event-store adapters share helpers with the in-memory one, but do not import it.',
      severity: 'error',
      from: { path: '^src/eventstore/', pathNot: '^src/eventstore/memory\\.ts$' },
      to: { path: '^src/eventstore/memory\\.ts$' },
    },
    {
      name: 'domain-below-the-application',
      comment: 'Aggregates, projections, commands and events never reach up into use cases, the API or the entry points.',
      severity: 'error',
      from: { path: layer('aggregates', 'projections', 'commands', 'events') },
      to: { path: layer('application', 'schema', 'server', 'cli') },
    },
    {
      name: 'application-below-the-api',
      comment: 'Use cases and authorization do not know GraphQL, HTTP or the CLI.',
      severity: 'error',
      from: { path: layer('application', 'auth') },
      to: { path: layer('schema', 'server', 'cli') },
    },
    {
      name: 'auth-below-the-application',
      comment: 'Authorization is used by the use cases, not the other way round.',
      severity: 'error',
      from: { path: layer('auth') },
      to: { path: layer('application') },
    },
    {
      name: 'schema-through-the-application',
      comment: 'Resolvers call the application; they never query a store or a projection themselves.',
      severity: 'error',
      from: { path: layer('schema') },
      to: { path: layer('eventstore', 'readmodels', 'projections', 'secrets', 'ledger', 'commands', 'server', 'cli') },
    },
  ],
  options: {
    tsConfig: { fileName: 'tsconfig.json' },
    tsPreCompilationDeps: true,
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(node_modules|dist)/' },
  },
};
