/**
 * Compares two variants of the code in one process: the flows page of
 * bench/gateway-vs-baseline.ts over HTTP, in batches of 200 requests (8 at a
 * time), alternating `globalThis.TENANTRY_AB = true / false` between batches,
 * and prints the CPU time per request of each. On a shared machine whose
 * speed drifts from one minute to the next, alternating in one process is
 * what makes a 3% difference visible (a control run with no switch read
 * anywhere differs by about 0.2%).
 *
 * Put the switch in the code under test for the measurement only, e.g.
 *   if ((globalThis as { TENANTRY_AB?: boolean }).TENANTRY_AB) return newWay();
 * and remove it afterwards.
 *
 *   NODE_ENV=production npx tsx bench/ab-flows-page.ts [--rounds 30] [--mutations]
 */
import http from 'node:http';
import { parseArgs } from 'node:util';
import { systemCaller } from '../src/server/start.js';
import { startBenchGateway, TOKEN } from './seed.js';

const { values } = parseArgs({ options: { rounds: { type: 'string', default: '30' }, mutations: { type: 'boolean', default: false } } });
const ROUNDS = Number(values.rounds);
const BATCH = 200;
const QUERY = `{ flows(first: 50, includeChildren: true) { edges { node { id namespace revision updatedAt namespaceRef { id description } } } pageInfo { hasNextPage endCursor } } }`;

const bench = await startBenchGateway();
const { running } = bench;
const caller = systemCaller(running.app, 'bench');
for (let n = 0; n < 20; n++) await running.services.namespaces.create(caller, 'main', { id: `company.team${n}`, description: `Team ${n}` });
for (let f = 0; f < 200; f++)
  await running.services.flows.create(
    caller,
    'main',
    `id: flow${f}\nnamespace: company.team${f % 20}\ntasks:\n  - id: hello\n    type: io.kestra.plugin.core.log.Log\n    message: hi\n`,
  );

const url = new URL(bench.url('main'));
const agent = new http.Agent({ keepAlive: true, maxSockets: 8 });
let counter = 0;
const body = (): string =>
  values.mutations
    ? JSON.stringify({
        query: 'mutation($id: ID!) { createNamespace(input: {id: $id}) { id revision } }',
        variables: { id: `ab.n${counter++}` },
      })
    : JSON.stringify({ query: QUERY });
const request = () =>
  new Promise<void>((resolve, reject) => {
    const req = http.request(
      url,
      { agent, method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` } },
      (res) => {
        if (res.statusCode !== 200) reject(new Error(`HTTP ${res.statusCode}`));
        res.resume();
        res.on('end', resolve);
      },
    );
    req.on('error', reject);
    req.end(body());
  });
const batch = (n: number) =>
  Promise.all(
    Array.from({ length: 8 }, async () => {
      for (let i = 0; i < n / 8; i++) await request();
    }),
  );

const flag = globalThis as { TENANTRY_AB?: boolean };
await batch(4 * BATCH); // warm-up
const micros = { on: 0, off: 0 };
const ratios: number[] = [];
for (let round = 0; round < ROUNDS; round++) {
  const spent = { on: 0, off: 0 };
  for (const on of round % 2 ? [true, false] : [false, true]) {
    flag.TENANTRY_AB = on;
    const before = process.cpuUsage();
    await batch(BATCH);
    const used = process.cpuUsage(before);
    spent[on ? 'on' : 'off'] = used.user + used.system;
  }
  micros.on += spent.on;
  micros.off += spent.off;
  ratios.push(spent.on / spent.off);
}
ratios.sort((a, b) => a - b);
const quantile = (q: number) => ratios[Math.min(ratios.length - 1, Math.floor(q * ratios.length))]!;
const requests = ROUNDS * BATCH;
console.log(
  `${values.mutations ? 'createNamespace' : 'flows page'}, ${ROUNDS} rounds of ${BATCH} requests each way, ${running.app.config.readModels} read models`,
);
console.log(
  `CPU per request (server and client): on ${(micros.on / requests).toFixed(0)} µs, off ${(micros.off / requests).toFixed(0)} µs, on/off ${(micros.on / micros.off).toFixed(3)}`,
);
console.log(`on/off per round: median ${quantile(0.5).toFixed(3)}, middle half ${quantile(0.25).toFixed(3)}–${quantile(0.75).toFixed(3)}`);
await bench.stop();
