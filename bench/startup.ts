/**
 * Issue 16 benchmark: start-up to /readyz 200 and peak RSS as history grows,
 * with the embedded default (SQLite log + SQLite read models).
 *
 *   npx tsx bench/startup.ts --events 1000000 [--log FILE] [--read-models sqlite|memory] [--starts 3] [--data-dir DIR]
 *
 * Seeds N events straight into a SQLite log (100 tenants; per round a
 * namespace with 4 updates, a flow with 3 updates, a binding: the mix of
 * bench/rebuild.ts), then runs the built gateway (`node dist/main.js serve`,
 * as `npm start` does) in a child process on that data dir:
 *  1. first start: the read models are built from the whole log (what a data
 *     dir from an earlier version does once); with `--prebuild`, the CLI's
 *     staged rebuild builds them instead (faster at 1M events and more) and
 *     its time is reported;
 *  2. `--starts` more starts on the same data dir: they only catch up the
 *     tail of the log (empty here).
 * For each start: the time from spawn to the first 200 from /readyz, and
 * the child's peak RSS (VmHWM from /proc). Build first: `npm run build`.
 *
 * `--data-dir DIR` keeps the data dir (seeded there when it has no log yet):
 * a first run with `--starts 0` seeds and builds once (long at millions of
 * events: run it at a low priority while the machine does other work), a
 * second run on the same DIR times only the later starts, on an idle machine.
 */
import { spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { v4 as uuid } from 'uuid';
import { eventIdFor } from '../src/commands/handler.js';
import type { NewEvent } from '../src/eventstore/port.js';
import { SqliteEventStore } from '../src/eventstore/sqlite.js';

const { values } = parseArgs({
  options: {
    events: { type: 'string', default: '100000' },
    log: { type: 'string' },
    'read-models': { type: 'string', default: 'sqlite' },
    starts: { type: 'string', default: '3' },
    /** Build the read models with `tenantry projections rebuild --staged` first, instead of timing a first start that builds them. */
    prebuild: { type: 'boolean', default: false },
    /** Use and keep this data dir instead of a temporary one (see above). */
    'data-dir': { type: 'string' },
  },
});
const TOTAL = Number(values.events);
const TENANTS = 100;
const root = path.resolve(import.meta.dirname, '..');

function meta(tenantId: string, namespace: string, n: number) {
  const command = uuid();
  return {
    id: eventIdFor(command, 0),
    metadata: {
      tenantId,
      namespace,
      actor: { type: 'USER' as const, id: 'bench' },
      correlationId: command,
      commandId: command,
      occurredAt: new Date(Date.UTC(2026, 0, 1) + n).toISOString(),
    },
  };
}

const flowSource = (ns: string, id: string, n: number) =>
  `id: ${id}\nnamespace: ${ns}\ntasks:\n  - id: t\n    type: io.kestra.plugin.core.log.Log\n    message: "${n}"\n`;

async function seed(file: string): Promise<number> {
  const store = new SqliteEventStore(file, { synchronous: 'NORMAL' });
  let written = 0;
  for (let round = 0; written < TOTAL; round++) {
    const appends: Promise<unknown>[] = [];
    for (let t = 0; t < TENANTS && written < TOTAL; t++) {
      const tenantId = `tenant${t}`;
      const ns = `company.team${round}`;
      const nsEvents: NewEvent[] = [
        { ...meta(tenantId, ns, written), type: 'NamespaceCreated', schemaVersion: 1, data: { id: ns, description: null } },
      ];
      for (let u = 1; u <= 4; u++) {
        nsEvents.push({
          ...meta(tenantId, ns, written + u),
          type: 'NamespaceUpdated',
          schemaVersion: 1,
          data: { id: ns, changes: { variables: { before: { u: u - 1 }, after: { u } } } },
        });
      }
      appends.push(store.appendToStream(`${tenantId}/namespace/${ns}`, nsEvents, { expectedRevision: 'no_stream' }));
      const flowEvents: NewEvent[] = [];
      for (let r = 1; r <= 4; r++) {
        flowEvents.push({
          ...meta(tenantId, ns, written + 4 + r),
          type: r === 1 ? 'FlowCreated' : 'FlowUpdated',
          schemaVersion: 1,
          data: {
            namespace: ns,
            id: 'etl',
            revision: r,
            source: flowSource(ns, 'etl', r),
            description: null,
            disabled: false,
            tasks: [{ id: 't', type: 'io.kestra.plugin.core.log.Log' }],
          },
        });
      }
      appends.push(store.appendToStream(`${tenantId}/flow/${ns}/etl`, flowEvents, { expectedRevision: 'no_stream' }));
      const binding = uuid();
      appends.push(
        store.appendToStream(
          `${tenantId}/binding/${binding}`,
          [
            {
              ...meta(tenantId, ns, written + 9),
              type: 'BindingCreated',
              schemaVersion: 1,
              data: { id: binding, principalType: 'USER', principalId: 'admin', roleId: 'viewer', namespace: ns },
            },
          ],
          { expectedRevision: 'no_stream' },
        ),
      );
      written += 10;
    }
    await Promise.all(appends);
    if (round % 100 === 0) process.stderr.write(`\rseeding: ${written}/${TOTAL}`);
  }
  process.stderr.write('\n');
  const head = await store.headPosition();
  await store.close();
  return head;
}

interface Start {
  seconds: number;
  peakRssMb: number;
}

/** Spawns the built gateway on `dataDir`; resolves at the first /readyz 200 with the time taken and the peak RSS so far. */
async function start(dataDir: string, port: number): Promise<Start> {
  const started = performance.now();
  const child = spawn(process.execPath, ['--max-semi-space-size=64', path.join(root, 'dist/main.js'), 'serve'], {
    cwd: root,
    env: {
      ...process.env,
      NODE_ENV: 'production',
      TENANTRY_DATA_DIR: dataDir,
      TENANTRY_PORT: String(port),
      TENANTRY_ADMIN_TOKEN: 'bench-admin-token-0123456789',
      TENANTRY_READ_MODELS: values['read-models'] ?? 'sqlite',
      TENANTRY_MASTER_KEY: Buffer.alloc(32, 3).toString('base64'),
      TENANTRY_LOG_LEVEL: 'warn',
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let peak = 0;
  const sample = (): void => {
    try {
      const status = readFileSync(`/proc/${child.pid}/status`, 'utf8');
      peak = Math.max(peak, Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? 0) / 1024);
    } catch {
      // gone
    }
  };
  try {
    for (;;) {
      if (child.exitCode !== null) throw new Error(`gateway exited with ${child.exitCode}`);
      try {
        if ((await fetch(`http://127.0.0.1:${port}/readyz`)).status === 200) break;
      } catch {
        // not listening yet
      }
      sample();
      await new Promise((r) => setTimeout(r, 20));
    }
    const seconds = (performance.now() - started) / 1000;
    sample();
    return { seconds, peakRssMb: peak };
  } finally {
    child.kill('SIGTERM');
    await exited;
  }
}

console.log(`machine: ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}`);
if (!existsSync(path.join(root, 'dist/main.js'))) throw new Error('build first: npm run build');
const kept = values['data-dir'];
if (kept) mkdirSync(kept, { recursive: true });
const dataDir = kept ? path.resolve(kept) : mkdtempSync(path.join(tmpdir(), 'tenantry-startup-bench-'));
const file = path.join(dataDir, 'events.sqlite');
let head: number;
if (kept && existsSync(file)) {
  const store = new SqliteEventStore(file);
  head = await store.headPosition();
  await store.close();
  console.log(`data dir ${dataDir}: ${head} events${existsSync(path.join(dataDir, 'readmodels.sqlite')) ? ', read models built' : ''}`);
} else if (values.log && existsSync(values.log)) {
  copyFileSync(values.log, file);
  const store = new SqliteEventStore(file);
  head = await store.headPosition();
  await store.close();
  console.log(`reusing ${head} events from ${values.log}`);
} else {
  const seeding = performance.now();
  head = await seed(file);
  console.log(`seeded ${head} events in ${((performance.now() - seeding) / 1000).toFixed(1)} s`);
  if (values.log) copyFileSync(file, values.log);
}
const port = 40_000 + Math.floor(Math.random() * 20_000);
try {
  const built = kept !== undefined && existsSync(path.join(dataDir, 'readmodels.sqlite'));
  if (values.prebuild && !built) {
    const building = performance.now();
    await new Promise<void>((resolve, reject) => {
      const child = spawn(
        process.execPath,
        ['--max-semi-space-size=64', path.join(root, 'dist/main.js'), 'projections', 'rebuild', '--staged'],
        {
          cwd: root,
          env: {
            ...process.env,
            TENANTRY_DATA_DIR: dataDir,
            TENANTRY_MASTER_KEY: Buffer.alloc(32, 3).toString('base64'),
            TENANTRY_LOG_LEVEL: 'warn',
          },
          stdio: ['ignore', 'ignore', 'inherit'],
        },
      );
      child.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`rebuild exited with ${code}`))));
    });
    console.log(`read models built by \`projections rebuild --staged\` in ${((performance.now() - building) / 1000).toFixed(1)} s`);
  }
  const first = await start(dataDir, port);
  const what = built
    ? 'start (read models kept in the data dir)'
    : values.prebuild
      ? 'first start (read models already built)'
      : `first start (read models built from ${head} events)`;
  console.log(`${what}: ${first.seconds.toFixed(2)} s to ready, peak RSS ${first.peakRssMb.toFixed(0)} MB`);
  for (let i = 0; i < Number(values.starts); i++) {
    const again = await start(dataDir, port);
    console.log(`start ${i + 2} (tail only): ${again.seconds.toFixed(2)} s to ready, peak RSS ${again.peakRssMb.toFixed(0)} MB`);
  }
} finally {
  if (!kept) {
    rmSync(dataDir, { recursive: true, force: true });
    rmSync(`${dataDir}.keys`, { recursive: true, force: true }); // the generated audit signing key's default place
  }
}
