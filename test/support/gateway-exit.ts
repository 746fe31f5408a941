/**
 * Run as its own process (test/e2e/event-loop.e2e.spec.ts): starts a
 * gateway, saves a flow large enough for the worker pool, stops the gateway
 * and returns, without process.exit(). The process must then end on its own:
 * no worker thread, timer or monitor may keep it alive.
 */
import { flowSourceWorkers, INLINE_PARSE_MAX_CHARS } from '../../src/aggregates/flow/flow-source.async.js';
import { expectData, startTestGateway } from './gateway.js';

let source = 'id: large\nnamespace: company.team\ntasks:\n';
for (let i = 0; source.length <= 2 * INLINE_PARSE_MAX_CHARS; i++) source += `  - id: t${i}\n    type: io.kestra.plugin.core.log.Log\n`;

const gw = await startTestGateway({ env: { TENANTRY_WORKER_THREADS: '1' } });
const created = expectData(
  await gw.gql<{ createFlow: { tasks: unknown[] } }>(
    `mutation($s: String!) { createFlow(source: $s) { tasks { id } } }`,
    { s: source },
    { tenant: 'main' },
  ),
);
const completed = flowSourceWorkers.completed;
await gw.dispose();
process.stdout.write(`${JSON.stringify({ tasks: created.createFlow.tasks.length, completed, alive: flowSourceWorkers.alive })}\n`);
