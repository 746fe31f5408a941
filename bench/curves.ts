/**
 * Issue 13: how the cost of each operation grows with history.
 *
 *   NODE_ENV=production npx tsx bench/curves.ts [--sizes 1000,20000,100000]
 *
 * For each history length N, a fresh gateway on the embedded default (in
 * this process) with, written straight to its log: a flow with N revisions,
 * and a namespace with N events (hence N more audit entries). Then, timed
 * over HTTP from this process (p50 of many runs, milliseconds):
 *
 *   - updateFlow on the flow with N revisions (warm: its state cached; and
 *     the first one after start, which folds the stream once and takes its
 *     snapshots);
 *   - namespace(asOf) in the middle of the N-event stream;
 *   - auditLogs with a filter that matches nothing;
 *   - an incremental verifyAuditLog after 100 new entries;
 *   - mutations per second (createNamespace, 16 connections, autocannon in
 *     its own process) with 100 idle auditLogAppended subscriptions whose
 *     filter matches nothing.
 *
 * "Flat" means O(1) or O(log n) in N: the columns should not grow with N.
 */
import { spawn } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { caughtUp, flowSourceOf, gql, percentiles, seededTime, seedFlow, seedNamespace, startBenchGateway, TOKEN } from './seed.js';

const { values } = parseArgs({ options: { sizes: { type: 'string', default: '1000,20000,100000' } } });
const SIZES = (values.sizes ?? '').split(',').map(Number);

async function timed(times: number, run: (i: number) => Promise<unknown>): Promise<number> {
  const samples: number[] = [];
  for (let i = 0; i < times; i++) {
    const started = performance.now();
    await run(i);
    samples.push(performance.now() - started);
  }
  return percentiles(samples).p50;
}

function child(script: string, options: unknown): { ready: Promise<void>; done: Promise<string>; kill: () => void } {
  const file = path.join(tmpdir(), `tenantry-curves-${process.pid}-${Math.random().toString(36).slice(2)}.json`);
  writeFileSync(file, JSON.stringify(options));
  const args = script === 'load.ts' ? [JSON.stringify(options)] : [file];
  const proc = spawn(process.execPath, ['--import', 'tsx', path.join(import.meta.dirname, script), ...args], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  let markReady: () => void = () => undefined;
  const ready = new Promise<void>((resolve) => (markReady = resolve));
  proc.stdout.on('data', (chunk: Buffer) => {
    out += chunk.toString();
    if (out.includes('ready\n')) markReady();
  });
  const done = new Promise<string>((resolve) =>
    proc.on('close', () => {
      rmSync(file, { force: true });
      markReady();
      resolve(out.trim().split('\n').at(-1) ?? '');
    }),
  );
  return { ready, done, kill: () => proc.kill() };
}

console.log(`machine: ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}`);
console.log(
  `${'N'.padStart(8)} ${'update (warm)'.padStart(14)} ${'update (cold)'.padStart(14)} ${'asOf'.padStart(8)} ${'audit no-match'.padStart(15)} ${'verify (incr.)'.padStart(15)} ${'mut/s, 100 subs'.padStart(16)}`,
);
for (const n of SIZES) {
  const gw = await startBenchGateway();
  try {
    const url = gw.url('main');
    await seedFlow(gw.app, 'main', 'team', 'long', n, 0);
    await seedNamespace(gw.app, 'main', 'deep', n - 1, n);
    await caughtUp(gw.app);
    const update = (i: number) =>
      gql(url, `mutation($s: String!) { updateFlow(namespace: "team", id: "long", source: $s) { revision } }`, {
        s: flowSourceOf('team', 'long', n + 1 + i),
      });
    const coldStarted = performance.now();
    await update(0);
    const cold = performance.now() - coldStarted;
    const warm = await timed(50, (i) => update(1 + i));

    const middle = seededTime(n + Math.floor(n / 2));
    await gql(url, `query($t: DateTime) { namespace(id: "deep", asOf: $t) { revision } }`, { t: middle }); // first: takes the snapshots
    const asOf = await timed(50, () =>
      gql(url, `query($t: DateTime) { namespace(id: "deep", asOf: $t) { revision variables } }`, { t: middle }),
    );

    const noMatch = await timed(50, () =>
      gql(url, `{ auditLogs(filter: {resourceId: "nothing-matches"}, first: 50) { edges { node { id } } pageInfo { hasNextPage } } }`),
    );

    // The first verification checks everything once: in the background, as a
    // large trail should be (a request has the execution timeout).
    const job = await gql<{ startAuditVerification: { id: string } }>(url, `mutation { startAuditVerification { id } }`);
    for (;;) {
      const state = await gql<{ auditVerificationJob: { status: string; result: { ok: boolean } | null; error: string | null } }>(
        url,
        `query($id: ID!) { auditVerificationJob(id: $id) { status error result { ok } } }`,
        { id: job.startAuditVerification.id },
      );
      const { status, result, error } = state.auditVerificationJob;
      if (status !== 'RUNNING') {
        if (!result?.ok) throw new Error(`full verification: ${status} ${error ?? ''}`);
        break;
      }
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    // Then an incremental verification after each 100 new entries, timed alone.
    const verifySamples: number[] = [];
    for (let r = 0; r < 5; r++) {
      for (let k = 0; k < 100; k++)
        await gql(url, `mutation { updateNamespace(id: "deep", input: {variables: {r: ${r}, k: ${k}}}) { revision } }`);
      await caughtUp(gw.app);
      const started = performance.now();
      const result = await gql<{ verifyAuditLog: { ok: boolean; newlyCheckedEntries: number } }>(
        url,
        `{ verifyAuditLog { ok newlyCheckedEntries } }`,
      );
      verifySamples.push(performance.now() - started);
      if (!result.verifyAuditLog.ok || result.verifyAuditLog.newlyCheckedEntries !== 100)
        throw new Error(`verify: ${JSON.stringify(result)}`);
    }
    const verifyIncremental = percentiles(verifySamples).p50;

    const subs = child('drive.ts', {
      mode: 'subscribe',
      url,
      wsUrl: url.replace('http', 'ws'),
      token: TOKEN,
      subscriptions: 100,
      subscription: `subscription { auditLogAppended(filter: {resourceId: "nothing-matches"}) { id } }`,
      bodies: [], // idle: open, then wait
      seconds: 12,
    });
    await subs.ready;
    const load = JSON.parse(await child('load.ts', { url, token: TOKEN, seconds: 6, connections: 16, mutation: true }).done) as {
      average: number;
    };
    subs.kill();
    await subs.done;

    const ms = (x: number, w: number) => `${x.toFixed(2)} ms`.padStart(w);
    console.log(
      `${n.toLocaleString('en-US').padStart(8)} ${ms(warm, 14)} ${ms(cold, 14)} ${ms(asOf, 8)} ${ms(noMatch, 15)} ${ms(verifyIncremental, 15)} ${`${load.average.toFixed(0)}/s`.padStart(16)}`,
    );
  } finally {
    await gw.stop();
  }
}
