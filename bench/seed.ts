/**
 * Shared by the bounded-cost benchmarks (isolation.ts, curves.ts): a gateway
 * on the embedded default in this process, and long histories written
 * straight to its log in large appends (the events the deciders would
 * write, with increasing times), far faster than one command at a time.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Command, Decider, DomainEvent } from '../src/aggregates/decider.js';
import { flowDecider, type FlowCommand } from '../src/aggregates/flow/flow.js';
import { parseFlowSource } from '../src/aggregates/flow/flow-source.js';
import { namespaceDecider } from '../src/aggregates/namespace/namespace.js';
import type { Application } from '../src/application/application.js';
import { loadConfig } from '../src/config/config.js';
import type { NewEvent } from '../src/eventstore/port.js';
import { silentLogger } from '../src/shared/logger.js';
import { startGateway, type Running } from '../src/server/start.js';

export const TOKEN = 'bench-admin-token-0123456789';

export interface BenchGateway {
  running: Running;
  app: Application;
  url(tenant?: string): string;
  stop(): Promise<void>;
}

/**
 * The embedded default (SQLite log, SQLite read models; `TENANTRY_READ_MODELS=memory`
 * in the environment for in-memory ones), with the rate limits out of the way of the load generator.
 */
export async function startBenchGateway(env: Record<string, string> = {}): Promise<BenchGateway> {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'tenantry-bench-'));
  const config = loadConfig({
    TENANTRY_DATA_DIR: dataDir,
    TENANTRY_PORT: '0',
    TENANTRY_ADMIN_TOKEN: TOKEN,
    TENANTRY_RATE_LIMIT_PER_MINUTE: '1000000',
    TENANTRY_TENANT_RATE_LIMIT_PER_MINUTE: '10000000',
    ...(process.env['TENANTRY_READ_MODELS'] ? { TENANTRY_READ_MODELS: process.env['TENANTRY_READ_MODELS'] } : {}),
    ...env,
  });
  const running = await startGateway(config, silentLogger());
  return {
    running,
    app: running.app,
    url: (tenant) => running.gateway.url(tenant ? `/api/v1/${tenant}/graphql` : '/api/v1/graphql'),
    async stop() {
      await running.stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export async function gql<T = Record<string, unknown>>(url: string, query: string, variables: Record<string, unknown> = {}): Promise<T> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await response.json()) as { data?: T; errors?: unknown };
  if (body.errors || !body.data) throw new Error(`GraphQL errors: ${JSON.stringify(body.errors).slice(0, 500)}`);
  return body.data;
}

/** Times of seeded events: one millisecond apart from 2026-01-01, so that `asOf` can pick any point of a history. */
export const seededTime = (n: number): string => new Date(Date.UTC(2026, 0, 1) + n).toISOString();

/**
 * Decides `commands` in order against the stream's current state (folded
 * here, in memory) and appends the events in batches, as the command
 * handler would have written them one command at a time.
 */
async function seedStream<C extends Command, E extends DomainEvent, S>(
  app: Application,
  tenantId: string,
  stream: string,
  decider: Decider<C, E, S>,
  commands: Iterable<C>,
  timeOffset: number,
): Promise<number> {
  let state = (await app.commands.load(decider, stream)).state;
  let revision = (await app.commands.load(decider, stream)).revision;
  let batch: NewEvent[] = [];
  let n = 0;
  const flush = async (): Promise<void> => {
    if (batch.length === 0) return;
    await app.events.appendToStream(stream, batch, { expectedRevision: revision === 0 ? 'no_stream' : revision - 1 });
    revision += batch.length;
    batch = [];
  };
  for (const command of commands) {
    for (const event of decider.decide(command, state)) {
      state = decider.evolve(state, event);
      const commandId = randomUUID();
      batch.push({
        id: randomUUID(),
        type: event.type,
        schemaVersion: 1,
        data: event.data,
        metadata: {
          tenantId,
          namespace: event.namespace,
          actor: { type: 'USER', id: 'admin' },
          correlationId: commandId,
          commandId,
          occurredAt: seededTime(timeOffset + n++),
        },
      });
    }
    if (batch.length >= 500) await flush();
  }
  await flush();
  return n;
}

const metadata = (tenantId: string) => ({
  commandId: 'seed',
  tenantId,
  actor: { type: 'USER' as const, id: 'admin' },
  now: seededTime(0),
  correlationId: 'seed',
});

export const flowSourceOf = (namespace: string, id: string, revision: number, padding = 0): string =>
  `id: ${id}\nnamespace: ${namespace}\ndescription: revision ${revision}${' '.repeat(padding)}\ntasks:\n  - id: log\n    type: io.kestra.plugin.core.log.Log\n    message: hello ${revision}\n`;

/** A flow with `revisions` saves (create + updates). Returns the number of events written. */
export async function seedFlow(app: Application, tenantId: string, namespace: string, id: string, revisions: number, timeOffset = 0) {
  const stream = `${tenantId}/flow/${namespace}/${id}`;
  function* commands(): Generator<FlowCommand> {
    yield { type: 'CreateFlow', data: { definition: parseFlowSource(flowSourceOf(namespace, id, 1)) }, metadata: metadata(tenantId) };
    for (let r = 2; r <= revisions; r++) {
      const definition = parseFlowSource(flowSourceOf(namespace, id, r));
      yield { type: 'UpdateFlow', data: { namespace, id, definition }, metadata: metadata(tenantId) };
    }
  }
  return seedStream(app, tenantId, stream, flowDecider, commands(), timeOffset);
}

/** A namespace with `updates` updates of its variables after its creation. Returns the number of events written. */
export async function seedNamespace(app: Application, tenantId: string, id: string, updates: number, timeOffset = 0) {
  const stream = `${tenantId}/namespace/${id}`;
  function* commands() {
    yield { type: 'CreateNamespace' as const, data: { id, description: null }, metadata: metadata(tenantId) };
    for (let u = 1; u <= updates; u++) {
      yield { type: 'UpdateNamespace' as const, data: { id, patch: { variables: { n: u } } }, metadata: metadata(tenantId) };
    }
  }
  return seedStream(app, tenantId, stream, namespaceDecider, commands(), timeOffset);
}

/** Waits until every projection has applied the whole log. */
export async function caughtUp(app: Application): Promise<void> {
  const head = await app.events.headPosition();
  while (!(await app.projections.waitFor(head, 60_000)));
}

/** p50, p99 and max of a list of milliseconds. */
export function percentiles(values: readonly number[]): { p50: number; p99: number; max: number } {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN;
  return { p50: at(0.5), p99: at(0.99), max: sorted.at(-1) ?? NaN };
}
