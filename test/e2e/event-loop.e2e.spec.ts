/**
 * Keeping the one event loop free, seen from outside: large flow sources are
 * parsed in the worker pool over real HTTP with the answers inline parsing
 * gives, a caller without the right is refused before any parse, the
 * gateway (and its process) ends cleanly once the pool was used, and
 * /metrics reports the event-loop delay as valid Prometheus text.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { flowSourceWorkers, INLINE_PARSE_MAX_CHARS } from '../../src/aggregates/flow/flow-source.async.js';
import { parseFlowSource } from '../../src/aggregates/flow/flow-source.js';
import { DomainError } from '../../src/shared/errors.js';
import { bind, createUserWithToken } from '../support/access.js';
import { errorCode, expectData, startTestGateway, type TestGateway } from '../support/gateway.js';

/** A flow of `namespace` with tasks until it is past twice the inline bound: it goes to the pool. */
function largeFlow(id: string, namespace = 'company.team', extra = ''): string {
  let source = `id: ${id}\nnamespace: ${namespace}\ntasks:\n`;
  for (let i = 0; source.length <= 2 * INLINE_PARSE_MAX_CHARS; i++) {
    source += `  - id: t${i}\n    type: io.kestra.plugin.core.log.Log\n    message: "task ${i} of ${id}"\n`;
  }
  return `${source}${extra}`;
}

function inlineRefusal(source: string): DomainError {
  try {
    parseFlowSource(source);
  } catch (error) {
    if (error instanceof DomainError) return error;
    throw error;
  }
  throw new Error('expected a refusal');
}

const CREATE = `mutation($s: String!) { createFlow(source: $s) { id revision tasks { id } } }`;
const UPDATE = `mutation($ns: String!, $id: ID!, $s: String!) { updateFlow(namespace: $ns, id: $id, source: $s) { id revision tasks { id } } }`;

describe('large flow sources over HTTP go through the worker pool', () => {
  let gw: TestGateway | null = null;
  const gateway = (): TestGateway => {
    if (!gw) throw new Error('the gateway is stopped');
    return gw;
  };

  beforeAll(async () => {
    gw = await startTestGateway({ env: { TENANTRY_WORKER_THREADS: '1' } });
  });
  afterAll(async () => {
    await gw?.dispose();
  });

  it('createFlow and updateFlow with large sources: saved, each parsed once in a worker', async () => {
    const before = flowSourceWorkers.completed;
    const created = expectData(
      await gateway().gql<{ createFlow: { id: string; revision: number; tasks: unknown[] } }>(
        CREATE,
        { s: largeFlow('big') },
        { tenant: 'main' },
      ),
    ).createFlow;
    expect(created.revision).toBe(1);
    expect(created.tasks.length).toBe(parseFlowSource(largeFlow('big')).tasks.length);
    expect(flowSourceWorkers.completed - before).toBe(1);

    const updated = expectData(
      await gateway().gql<{ updateFlow: { revision: number; tasks: unknown[] } }>(
        UPDATE,
        {
          ns: 'company.team',
          id: 'big',
          s: largeFlow('big', 'company.team', '  - id: one_more\n    type: io.kestra.plugin.core.log.Log\n'),
        },
        { tenant: 'main' },
      ),
    ).updateFlow;
    expect(updated.revision).toBe(2);
    expect(updated.tasks.length).toBe(created.tasks.length + 1);
    expect(flowSourceWorkers.completed - before).toBe(2);
  });

  it('a large invalid source is refused with the very error inline parsing gives, and writes nothing', async () => {
    const source = largeFlow('broken', 'company.team', '  - id: t3\n    type: io.kestra.plugin.core.log.Log\n');
    const expected = inlineRefusal(source);
    const events = await gateway().eventCount();
    const before = flowSourceWorkers.completed;
    const refused = await gateway().gql(CREATE, { s: source }, { tenant: 'main' });
    expect(flowSourceWorkers.completed - before).toBe(1);
    expect(refused.errors).toHaveLength(1);
    expect(refused.errors?.[0]?.message).toBe(expected.message);
    const { correlationId: _c, ...extensions }: Record<string, unknown> = refused.errors?.[0]?.extensions ?? {};
    expect(extensions).toEqual({ ...expected.extensions, code: expected.code });
    expect(await gateway().eventCount()).toBe(events);
  });

  it('updateFlow by a caller without FLOW:UPDATE is refused before the source is parsed', async () => {
    const vera = await createUserWithToken(gateway(), 'vera');
    await bind(gateway(), 'main', { principalType: 'USER', principalId: 'vera', roleId: 'viewer', namespace: 'company' });
    const before = flowSourceWorkers.completed;
    const refused = await gateway().gql(UPDATE, { ns: 'company.team', id: 'big', s: largeFlow('big') }, { tenant: 'main', token: vera });
    expect(errorCode(refused)).toBe('FORBIDDEN');
    expect(flowSourceWorkers.completed - before).toBe(0);
  });

  it('stopping the gateway ends the worker threads', async () => {
    expect(flowSourceWorkers.alive).toBeGreaterThan(0);
    await gateway().dispose();
    gw = null;
    expect(flowSourceWorkers.alive).toBe(0);
  });

  it('a process that used the pool ends on its own once its gateway is stopped (no process.exit)', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'test/support/gateway-exit.ts'], {
      cwd: path.resolve(import.meta.dirname, '../..'),
      env: { ...process.env, TENANTRY_LOG_LEVEL: 'silent' },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    // Generous: a hanging process is what this catches, not a slow one.
    const timer = setTimeout(() => child.kill('SIGKILL'), 100_000);
    const exit = await new Promise<number | string>((resolve) =>
      child.once('exit', (code, signal) => resolve(code ?? signal ?? 'unknown')),
    );
    clearTimeout(timer);
    expect(exit).toBe(0);
    const report = JSON.parse(stdout.trim().split('\n').at(-1) ?? '{}') as { tasks: number; completed: number; alive: number };
    // Past twice the inline bound: tens of tasks, parsed by the pool.
    expect(report.tasks).toBeGreaterThan(INLINE_PARSE_MAX_CHARS / 64);
    expect(report.completed).toBe(1);
    expect(report.alive).toBe(0);
  }, 120_000);
});

/** Checks Prometheus text exposition format 0.0.4, line by line; returns the samples by name. */
function parsePrometheus(text: string): Map<string, { labels: Record<string, string>; value: number }[]> {
  const types = new Map<string, string>();
  const samples = new Map<string, { labels: Record<string, string>; value: number }[]>();
  const metricName = '[a-zA-Z_:][a-zA-Z0-9_:]*';
  const labelValue = '"(?:[^"\\\\\\n]|\\\\.)*"';
  const sampleLine = new RegExp(
    `^(${metricName})(?:\\{((?:[a-zA-Z_][a-zA-Z0-9_]*=${labelValue})(?:,[a-zA-Z_][a-zA-Z0-9_]*=${labelValue})*,?)?\\})? (\\S+)(?: -?\\d+)?$`,
  );
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const comment = /^# (HELP|TYPE) (\S+) (.*)$/.exec(line);
    if (comment) {
      if (comment[1] === 'TYPE') {
        expect(['counter', 'gauge', 'histogram', 'summary', 'untyped'], line).toContain(comment[3]);
        types.set(comment[2]!, comment[3]!);
      }
      continue;
    }
    expect(line.startsWith('#'), line).toBe(false);
    const match = sampleLine.exec(line);
    expect(match, `not a Prometheus sample line: ${line}`).not.toBeNull();
    const [, name, labelText, valueText] = match!;
    // Prometheus reads values with Go's ParseFloat: NaN and ±Inf in any case (prom-client writes `Nan`).
    const special = /^([+-]?)(inf|infinity|nan)$/i.exec(valueText!);
    const value = special ? (special[2]!.toLowerCase() === 'nan' ? NaN : special[1] === '-' ? -Infinity : Infinity) : Number(valueText);
    expect(special !== null || (valueText !== '' && !Number.isNaN(value)), line).toBe(true);
    const family = [name!, name!.replace(/_(bucket|sum|count|total|created)$/, '')].find((n) => types.has(n));
    expect(family, `sample without a TYPE: ${line}`).toBeDefined();
    const labels: Record<string, string> = {};
    for (const [, key, raw] of (labelText ?? '').matchAll(new RegExp(`([a-zA-Z_][a-zA-Z0-9_]*)=(${labelValue})`, 'g'))) {
      labels[key!] = JSON.parse(raw!) as string;
    }
    samples.set(name!, [...(samples.get(name!) ?? []), { labels, value }]);
  }
  return samples;
}

describe('/metrics: event-loop delay', () => {
  let gw: TestGateway;

  beforeAll(async () => {
    gw = await startTestGateway();
  });
  afterAll(() => gw?.dispose());

  it('reports the delay quantiles and maximum of the last window, in valid Prometheus text', async () => {
    const response = await fetch(`${gw.url}/metrics`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/plain/);
    const text = await response.text();
    for (const p of [50, 90, 99]) expect(text).toMatch(new RegExp(`^# TYPE tenantry_event_loop_delay_p${p}_seconds gauge$`, 'm'));
    expect(text).toMatch(/^# TYPE tenantry_event_loop_delay_max_seconds gauge$/m);
    const samples = parsePrometheus(text);
    const quantiles = [50, 90, 99].flatMap((p) => samples.get(`tenantry_event_loop_delay_p${p}_seconds`) ?? []);
    expect(quantiles).toHaveLength(3);
    const [max] = samples.get('tenantry_event_loop_delay_max_seconds') ?? [];
    expect(max).toBeDefined();
    for (const { value } of [...quantiles, max!]) {
      expect(Number.isFinite(value)).toBe(true);
      expect(value).toBeGreaterThanOrEqual(0);
    }
    // Quantiles cannot exceed the maximum of the same window.
    for (const { value } of quantiles) expect(value).toBeLessThanOrEqual(max!.value);
    // The rest of the registry still parses, and is still there.
    expect(samples.has('tenantry_graphql_requests_total') || text.includes('# TYPE tenantry_graphql_requests_total counter')).toBe(true);
  });
});
