import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';

const require = createRequire(import.meta.url);

/**
 * Files whose tests never use the suite's read-model choice (they never start
 * a gateway through test/support/gateway.ts): each store they test is named in
 * the test itself (memory, SQLite and MongoDB side by side, or FerretDB
 * started by the test). CI runs the suite twice, the second time with
 * TENANTRY_TEST_READ_MODELS=mongodb; these run in the first pass only, where
 * they already test against MongoDB when TENANTRY_TEST_MONGODB_URI is set.
 */
const READ_MODEL_INDEPENDENT = [
  'test/unit/**',
  'test/integration/**',
  'test/e2e/mongodb-outage.e2e.spec.ts',
  'test/e2e/mongodb-overload.e2e.spec.ts',
  'test/e2e/projector-process.e2e.spec.ts',
  'test/e2e/rebuild-cli.e2e.spec.ts',
  'test/e2e/replicas.e2e.spec.ts',
  'test/e2e/sqlite-crash.e2e.spec.ts',
  // Real processes on the embedded stores, or a store named by the test itself.
  'test/e2e/backup-restore.e2e.spec.ts',
  'test/e2e/checkpoint-race.e2e.spec.ts',
  'test/e2e/damaged-data-dir.e2e.spec.ts',
  'test/e2e/mongodb-refused-login.e2e.spec.ts',
  'test/e2e/shutdown-signal.e2e.spec.ts',
  'test/e2e/start-without-stores.e2e.spec.ts',
  // The HTTP and browser layers (conformance, CORS, the schema route, tracing, the UI page, the codegen client):
  // what they check happens before or after the read models, the same whatever store holds them.
  'test/e2e/graphql-over-http.e2e.spec.ts',
  'test/e2e/security-cors.e2e.spec.ts',
  'test/e2e/cors.browser.e2e.spec.ts',
  'test/e2e/schema-endpoint.e2e.spec.ts',
  'test/e2e/tracing.e2e.spec.ts',
  'test/e2e/ui.browser.e2e.spec.ts',
  'test/e2e/frontend-example.e2e.spec.ts',
  // The CLI's conventions (exit codes, --json, pipes, Ctrl-C) on processes it starts with memory read models
  // (the CLI on MongoDB: rebuild-cli, audit-cli, ledger-inclusion-cli), and the docs' examples (what they check is
  // the text of the docs): the longest files of the second pass, 90 s and 37 s on FerretDB, testing nothing new there.
  'test/e2e/cli.e2e.spec.ts',
  'test/e2e/docs-examples.e2e.spec.ts',
];
const secondPass = process.env['TENANTRY_TEST_READ_MODELS'] === 'mongodb';

export default defineConfig({
  resolve: {
    // graphql 16 ships CJS (main) and ESM (module) builds. Node resolves the CJS
    // one for type-graphql and graphql-scalars, vite would pick the ESM one for
    // our sources: two copies, and type-graphql no longer recognises our
    // scalars. One copy for everyone.
    alias: [{ find: /^graphql$/, replacement: require.resolve('graphql') }],
  },
  test: {
    include: ['test/**/*.spec.ts'],
    exclude: ['**/node_modules/**', ...(secondPass ? READ_MODEL_INDEPENDENT : [])],
    globalSetup: ['test/support/global-setup.ts'],
    setupFiles: ['reflect-metadata', './test/support/signing.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // One module graph per worker, not per file: importing the application (type-graphql, Apollo, the stores) took
    // longer than most files' tests (import 37 s against tests 47 s for 21 e2e files; 7 s without isolation), and
    // the first pass went from about 10 to 5 minutes. Test files must therefore leave no global state behind:
    // no vi.mock; fake timers and stubs restored in finally/afterEach; each gateway, store and data dir their own.
    isolate: false,
    // Vitest's default is one worker fewer than the cores: a single worker on
    // a 2-core CI machine. Most of this suite waits (child processes, sockets,
    // timers, FerretDB), so one file per core halves the run (8 to 4 minutes
    // for the first pass on 2 cores) without the load that makes tests flaky.
    maxWorkers: availableParallelism(),
    reporters: ['default', './test/support/summary-reporter.ts'],
  },
});
