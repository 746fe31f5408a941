/**
 * Audit export benchmark (issue 5): N audit entries in the read model, then
 * the export streamed twice while memory is sampled every 20 ms:
 *
 * 1. in process, NDJSON through `exportChunks` into /dev/null (the CLI path);
 * 2. over HTTP, CSV from `GET /api/v1/main/audit-logs/export`, read by a
 *    client that throttles itself, so the server must wait for 'drain'.
 *
 * Entries are generated with the projection's own pure function (a real
 * hash chain) and bulk-written straight into the embedded (memory)
 * DocumentStore, which is where the data lives in the default setup: the
 * baseline therefore includes the entries themselves, and what we measure is
 * how much the export adds on top.
 *
 * Two numbers per run: the peak RSS and heap seen by the 20 ms sampler
 * (includes garbage not yet collected), and the live heap, measured right
 * after a forced GC, about ten times per export (what the export really retains).
 *
 *   node --expose-gc --import tsx bench/audit-export.ts [--entries 1000000] [--slow-client-kbps 20000]
 *        [--read-models memory|mongodb --mongo-uri mongodb://127.0.0.1:27017]
 */
import { createWriteStream, mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import { cpus, tmpdir, totalmem } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { parseArgs } from 'node:util';
import { exportChunks } from '../src/application/audit-export.js';
import { loadConfig } from '../src/config/config.js';
import type { RecordedEvent } from '../src/eventstore/port.js';
import { auditEntryOf, toDocument, type AuditEntryDocument } from '../src/projections/audit/audit-entry.js';
import { AUDIT_LOGS } from '../src/projections/audit/audit.projection.js';
import { MongoDocumentStore } from '../src/readmodels/mongodb.js';
import type { WriteOperation } from '../src/readmodels/port.js';
import { silentLogger } from '../src/shared/logger.js';
import { startGateway, systemCaller } from '../src/server/start.js';

const { values } = parseArgs({
  options: {
    entries: { type: 'string', default: '1000000' },
    'slow-client-kbps': { type: 'string', default: '20000' },
    'read-models': { type: 'string', default: 'memory' },
    'mongo-uri': { type: 'string', default: process.env['TENANTRY_MONGODB_URI'] ?? '' },
  },
});
const READ_MODELS = values['read-models'] === 'mongodb' ? 'mongodb' : 'memory';
const ENTRIES = Number(values.entries);
const CLIENT_KBPS = Number(values['slow-client-kbps']);
const TOKEN = 'bench-admin-token-0123456789';
const MB = 1024 * 1024;
/** About ten live-heap measurements per export (a CSV entry is about 370 bytes). */
const SETTLE_EVERY_ENTRIES = Math.max(1, Math.floor(ENTRIES / 10));
const SETTLE_EVERY_BYTES = Math.max(MB, ENTRIES * 37);

const gc = (): void => (globalThis as { gc?: () => void }).gc?.();

interface Peak {
  rss: number;
  heapUsed: number;
  external: number;
  /** Largest heap right after a forced GC: memory actually retained. */
  liveHeap: number;
}

/** Samples memory while `work` runs; `settle()` forces a GC and records the live heap. Returns the peaks. */
async function sampled<T>(work: (settle: () => void) => Promise<T>): Promise<{ result: T; peak: Peak; seconds: number }> {
  const peak: Peak = { rss: 0, heapUsed: 0, external: 0, liveHeap: 0 };
  const settle = (): void => {
    gc();
    peak.liveHeap = Math.max(peak.liveHeap, process.memoryUsage().heapUsed);
  };
  const sample = (): void => {
    const m = process.memoryUsage();
    peak.rss = Math.max(peak.rss, m.rss);
    peak.heapUsed = Math.max(peak.heapUsed, m.heapUsed);
    peak.external = Math.max(peak.external, m.external + m.arrayBuffers);
  };
  const timer = setInterval(sample, 20);
  const started = performance.now();
  try {
    const result = await work(settle);
    sample();
    return { result, peak, seconds: (performance.now() - started) / 1000 };
  } finally {
    clearInterval(timer);
  }
}

function syntheticEvent(i: number, position: number): RecordedEvent {
  const namespace = `company.team${i % 50}`;
  const type = i % 3 === 0 ? 'NamespaceCreated' : 'NamespaceUpdated';
  const data =
    type === 'NamespaceCreated'
      ? { id: namespace, description: `Team ${i % 50}` }
      : { id: namespace, changes: { variables: { before: { run: i - 1 }, after: { run: i, owner: 'data-platform' } } } };
  return {
    id: `bench-${i.toString(36).padStart(8, '0')}`,
    type,
    schemaVersion: 1,
    data,
    streamName: `main/namespace/${namespace}`,
    streamRevision: i,
    position,
    metadata: {
      tenantId: 'main',
      namespace,
      actor: { type: 'USER', id: `user${i % 20}` },
      correlationId: `corr-${i}`,
      commandId: `cmd-${i}`,
      occurredAt: new Date(Date.UTC(2026, 0, 1) + i * 1000).toISOString(),
      ip: '10.1.2.3',
      userAgent: 'bench/1.0',
    },
  };
}

/**
 * Downloads with node:http (no header or body timeouts: a slow first batch
 * from a large sort is not an error here) at CLIENT_KBPS, pausing the
 * response so that the server has to wait for 'drain'.
 */
function throttledDownload(url: string, settle: () => void): Promise<number> {
  return new Promise((resolve, reject) => {
    const request = http.get(url, { headers: { authorization: `Bearer ${TOKEN}` } }, (response) => {
      if (response.statusCode !== 200) {
        reject(new Error(`export answered ${response.statusCode}`));
        response.resume();
        return;
      }
      let bytes = 0;
      const started = performance.now();
      response.on('data', (chunk: Buffer) => {
        if (Math.floor((bytes + chunk.length) / SETTLE_EVERY_BYTES) > Math.floor(bytes / SETTLE_EVERY_BYTES)) settle();
        bytes += chunk.length;
        const due = (bytes / 1024 / CLIENT_KBPS) * 1000 - (performance.now() - started);
        if (due > 5) {
          response.pause();
          setTimeout(() => response.resume(), due);
        }
      });
      response.on('end', () => resolve(bytes));
      response.on('error', reject);
    });
    request.on('error', reject);
  });
}

const mb = (n: number): string => `${(n / MB).toFixed(1)} MB`;

/** Runs one export after a settled baseline and prints what it cost; returns what `work` returned (entries or bytes). */
async function phase(name: string, work: (settle: () => void) => Promise<number>): Promise<number> {
  gc();
  await new Promise((resolve) => setTimeout(resolve, 200));
  gc();
  const baseline = process.memoryUsage();
  const { result, peak, seconds } = await sampled(work);
  const report = {
    phase: name,
    result,
    seconds: seconds.toFixed(1),
    perSecond: Math.round(result / seconds),
    baseline: { rss: mb(baseline.rss), heapUsed: mb(baseline.heapUsed) },
    peakRss: mb(peak.rss),
    rssGrowth: mb(peak.rss - baseline.rss),
    heapGrowth: mb(peak.heapUsed - baseline.heapUsed),
    liveHeapGrowth: mb(peak.liveHeap - baseline.heapUsed),
  };
  process.stdout.write(`${JSON.stringify(report)}\n`);
  return result;
}

async function main(): Promise<void> {
  if (!(globalThis as { gc?: unknown }).gc) process.stderr.write('note: run with --expose-gc for a settled baseline\n');
  const dataDir = mkdtempSync(path.join(tmpdir(), 'tenantry-bench-audit-'));
  const config = loadConfig({
    TENANTRY_DATA_DIR: dataDir,
    TENANTRY_PORT: '0',
    TENANTRY_EVENT_STORE: 'memory',
    TENANTRY_READ_MODELS: READ_MODELS,
    TENANTRY_MONGODB_URI: values['mongo-uri'],
    TENANTRY_MONGODB_DB: `tenantry_bench_audit_${Date.now()}`,
    TENANTRY_ADMIN_TOKEN: TOKEN,
    TENANTRY_LOG_LEVEL: 'silent',
  });
  const running = await startGateway(config, silentLogger());
  const { app, services } = running;
  try {
    const entries = app.readModels.instanceCollection<AuditEntryDocument>(AUDIT_LOGS);
    const offset = (await app.events.headPosition()) + 1000;
    const seedStarted = performance.now();
    let previous: string | null = null;
    for (let from = 0; from < ENTRIES; from += 10_000) {
      const batch: WriteOperation<AuditEntryDocument>[] = [];
      for (let i = from; i < Math.min(ENTRIES, from + 10_000); i++) {
        const entry = auditEntryOf(syntheticEvent(i, offset + i), previous);
        previous = entry.hash;
        batch.push({ insertOne: { document: toDocument(entry) } });
      }
      await entries.bulkWrite(batch, { ordered: false });
    }
    const seedSeconds = (performance.now() - seedStarted) / 1000;
    const total = await entries.countDocuments({ tenantId: 'main' });

    process.stdout.write(
      `${JSON.stringify({
        machine: `${cpus().length} cores (${cpus()[0]?.model ?? 'unknown'}), ${(totalmem() / 1024 ** 3).toFixed(1)} GB RAM, Node ${process.version}`,
        date: new Date().toISOString().slice(0, 10),
        readModels: READ_MODELS,
        entries: total,
        seedSeconds: seedSeconds.toFixed(1),
      })}\n`,
    );

    // Each phase is printed as soon as it ends, so that a long run is never lost.
    const inProcess = await phase('inProcessNdjson', async (settle) => {
      const stream = await services.audit.exportEntries(systemCaller(app, 'bench'), 'main', {});
      let count = 0;
      let nextSettle = SETTLE_EVERY_ENTRIES;
      const onProgress = (n: number): void => {
        count = n;
        if (n >= nextSettle) {
          settle();
          nextSettle += SETTLE_EVERY_ENTRIES;
        }
      };
      await pipeline(Readable.from(exportChunks(stream, 'ndjson', { onProgress })), createWriteStream('/dev/null'));
      return count;
    });
    if (inProcess !== total) throw new Error(`exported ${inProcess} of ${total} entries`);
    await phase('httpCsv', (settle) => throttledDownload(running.gateway.url('/api/v1/main/audit-logs/export?format=csv'), settle));
  } finally {
    if (app.documents instanceof MongoDocumentStore) await app.documents.dropDatabase();
    await running.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

await main();
