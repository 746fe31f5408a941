/**
 * Issue 15: verifying a tenant's log against its ledger and signed
 * checkpoints at 1,000,000 events: time, peak memory, and how a request of
 * another tenant fares meanwhile.
 *
 *   NODE_ENV=production NODE_OPTIONS=--expose-gc npx tsx bench/ledger-verify.ts [--events 1000000] [--thread thread|main]
 *
 * The live heap is the event loop's thread's: with the passes on the
 * verification thread, what that thread holds is in its own heap.
 *
 * RSS is not live memory (V8 lets garbage pile up in a large heap before it
 * collects), so with --expose-gc a second full verification runs after the
 * timed one, forcing a collection every second, and reports the largest live
 * heap seen above the heap before it: the memory the verification holds.
 *
 * The gateway runs on the embedded default in this process (SQLite log,
 * `ledger.sqlite`, in-memory read models); tenant A's history is written
 * straight to the log (a namespace's updates) and hashed into the ledger by
 * the projection, with a checkpoint every 100,000 events. Then a full
 * verification of A (the ledger pass and the audit-chain pass) runs while
 * tenant B sends a light query every 20 ms from its own process.
 */
import { spawn } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { caughtUp, gql, percentiles, seedNamespace, startBenchGateway, TOKEN } from './seed.js';

const { values } = parseArgs({
  options: {
    events: { type: 'string', default: '1000000' },
    // Where the passes run: `thread` on the verification thread (where the stores allow), `main` on the event loop.
    thread: { type: 'string', default: 'thread' },
  },
});
const EVENTS = Number(values.events);
const THREAD = values.thread === 'main' ? 'main' : 'thread';
const CHECKPOINT_EVERY = 100_000;

const gw = await startBenchGateway({ TENANTRY_AUDIT_CHECKPOINT_INTERVAL_MS: '0' });
let peakRss = 0;
const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 50);
try {
  const instance = gw.url();
  for (const id of ['a', 'b'])
    await gql(instance, `mutation { createTenant(input: {id: "${id}", name: "Tenant ${id}", adminUserId: "admin"}) { id } }`);
  await gql(gw.url('b'), `mutation { createNamespace(input: {id: "team"}) { id } }`);
  const seedStarted = performance.now();
  for (let written = 0; written < EVENTS; written += CHECKPOINT_EVERY) {
    const n = Math.min(CHECKPOINT_EVERY, EVENTS - written);
    await seedNamespace(gw.app, 'a', `deep${written}`, n - 1, written);
    await caughtUp(gw.app);
    await gw.running.services.auditLedger.checkpointNow('a');
    process.stderr.write(`seeded and hashed ${(written + n).toLocaleString('en-US')} events of a\n`);
  }
  const seedSeconds = (performance.now() - seedStarted) / 1000;

  const file = path.join(tmpdir(), `tenantry-ledger-bench-${process.pid}.json`);
  /** B's light query every 20 ms for `seconds`, from its own process: the latencies it saw. */
  const probe = (seconds: number) =>
    new Promise<number[]>((resolve, reject) => {
      const body = JSON.stringify({ query: '{ namespaces { id } }' });
      writeFileSync(file, JSON.stringify({ mode: 'probe', url: gw.url('b'), token: TOKEN, intervalMs: 20, seconds, bodies: [body] }));
      const child = spawn(process.execPath, ['--import', 'tsx', path.join(import.meta.dirname, 'drive.ts'), file], {
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      let out = '';
      child.stdout.on('data', (c: Buffer) => (out += c.toString()));
      child.on('close', (code) => {
        if (code !== 0) return reject(new Error(`probe exited ${code}`));
        resolve((JSON.parse(out.trim().split('\n').at(-1) ?? '{}') as { latencies: number[] }).latencies);
      });
    });
  const idle = percentiles(await probe(8));

  const loop = monitorEventLoopDelay({ resolution: 10 });
  loop.enable();
  const rssBefore = process.memoryUsage().rss;
  peakRss = rssBefore;
  const started = performance.now();
  let verifyDone = false;
  const verifying = gw.running.services.audit.verifyNow('a', { full: true, thread: THREAD }).finally(() => (verifyDone = true));
  const during: number[] = [];
  while (!verifyDone) during.push(...(await probe(5)));
  const result = await verifying;
  const seconds = (performance.now() - started) / 1000;
  loop.disable();
  const busy = percentiles(during);
  rmSync(file, { force: true });

  const gc = (globalThis as { gc?: () => void }).gc;
  let liveGrowth: number | null = null;
  if (gc) {
    gc();
    const base = process.memoryUsage().heapUsed;
    let peak = base;
    let again = false;
    const second = gw.running.services.audit.verifyNow('a', { full: true, thread: THREAD }).finally(() => (again = true));
    while (!again) {
      await new Promise((resolve) => setTimeout(resolve, 1000));
      gc();
      peak = Math.max(peak, process.memoryUsage().heapUsed);
    }
    await second;
    liveGrowth = peak - base;
  }

  console.log(
    `machine: ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}`,
  );
  console.log(`seeding ${EVENTS.toLocaleString('en-US')} events (log, projections, ledger): ${seedSeconds.toFixed(0)} s`);
  console.log(`verification passes on: ${THREAD === 'main' ? 'the event loop' : 'the verification thread (where the stores allow)'}`);
  console.log(
    `full verification of tenant a: ${result.ok ? 'OK' : `BROKEN (${result.reason})`}, ${result.checkedEvents?.toLocaleString('en-US')} events against the ledger, ${result.checkedCheckpoints} checkpoints, ${result.checkedEntries.toLocaleString('en-US')} audit entries`,
  );
  console.log(
    `  time ${seconds.toFixed(1)} s (${Math.round((result.checkedEvents ?? 0) / seconds).toLocaleString('en-US')} events/s through both passes)`,
  );
  console.log(`  RSS before ${(rssBefore / 2 ** 20).toFixed(0)} MB, peak during ${(peakRss / 2 ** 20).toFixed(0)} MB`);
  if (liveGrowth !== null)
    console.log(
      `  live heap of the event loop's thread held during a verification (second run, collected every second): ${(liveGrowth / 2 ** 20).toFixed(1)} MB`,
    );
  console.log(
    `  event-loop delay p99 ${Math.max(0, loop.percentile(99) / 1e6 - 10).toFixed(1)} ms, max ${Math.max(0, loop.max / 1e6 - 10).toFixed(1)} ms`,
  );
  console.log(
    `tenant b, one query every 20 ms: alone p50 ${idle.p50.toFixed(1)} / p99 ${idle.p99.toFixed(1)} ms; during the verification p50 ${busy.p50.toFixed(1)} / p99 ${busy.p99.toFixed(1)} ms (${(busy.p99 / idle.p99).toFixed(2)}×)`,
  );
} finally {
  clearInterval(sampler);
  await gw.stop();
}
