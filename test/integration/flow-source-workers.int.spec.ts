import { readdirSync, readFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import {
  configureFlowSourceWorkers,
  flowSourceWorkers,
  INLINE_PARSE_MAX_CHARS,
  PARSER_NICE_INCREMENT,
  parseFlowSourceAsync,
  QUEUE_PER_THREAD,
} from '../../src/aggregates/flow/flow-source.async.js';
import { MAX_SOURCE_BYTES, parseFlowSource } from '../../src/aggregates/flow/flow-source.js';
import type { FlowSourceAnswer } from '../../src/aggregates/flow/flow-source.worker.js';
import { DomainError } from '../../src/shared/errors.js';
import { defaultWorkerThreads, WorkerPool, workerModule } from '../../src/shared/worker-pool.js';

const head = 'id: big\nnamespace: company.team\ndescription: a large flow\ntasks:\n';
const task = (i: number) => `  - id: task_${i}\n    type: io.kestra.plugin.core.log.Log\n    message: "hello from task ${i}"\n`;

/** Tasks until the source is past `chars`. */
function tasks(chars: number, from = 0): string {
  let out = '';
  for (let i = from; out.length < chars; i++) out += task(i);
  return out;
}

/** A comment that pushes any source past the inline bound, so that it goes to the pool. */
const padding = `# ${'padding '.repeat(INLINE_PARSE_MAX_CHARS / 8)}\n`;

function aliasBomb(): string {
  const lines = ['a: &a ["x","x","x","x","x","x","x","x","x"]'];
  for (let i = 1; i < 12; i++) {
    const name = String.fromCharCode(97 + i);
    lines.push(
      `${name}: &${name} [${Array(9)
        .fill(`*${String.fromCharCode(96 + i)}`)
        .join(',')}]`,
    );
  }
  return `${padding}${lines.join('\n')}\n`;
}

const large = `${head}${tasks(INLINE_PARSE_MAX_CHARS * 4)}`;

/** Sources and whether each must go through the pool (larger than the inline bound, not refused for its size). */
const table: [string, unknown, boolean][] = [
  ['small and valid', `${head}${task(1)}`, false],
  ['large and valid (4 × the inline bound)', large, true],
  ['close to the largest allowed', `${head}${tasks(MAX_SOURCE_BYTES - 2000)}`, true],
  ['large, with a YAML syntax error on its last line', `${large}  - id: broken\n    type: "unterminated\n`, true],
  ['large, with a duplicate key', `${large}tasks: []\n`, true],
  ['large, with a duplicate task id deep down', `${large}${task(3)}`, true],
  ['large, with an invalid task type', `${large}  - id: odd\n    type: not a type\n`, true],
  ['large, without a namespace', large.replace('namespace: company.team\n', ''), true],
  ['large, a list instead of a mapping', `- ${tasks(INLINE_PARSE_MAX_CHARS).replaceAll('\n', '\n  ')}`, true],
  ['large, two documents', `${large}---\nid: second\n`, true],
  ['large, nested far too deeply', `${head}${task(1)}    deep: ${'['.repeat(20_000)}${']'.repeat(20_000)}\n`, true],
  ['large, nested deeply but within the limit', `${padding}${head}${task(1)}    deep: ${'['.repeat(250)}${']'.repeat(250)}\n`, true],
  ['large, an alias bomb', aliasBomb(), true],
  ['large, an unresolved alias', `${padding}id: *nothing\n`, true],
  ['small, nested too deeply', `${head}${task(1)}    deep: ${'['.repeat(300)}${']'.repeat(300)}\n`, false],
  ['too large', `${large}#${'x'.repeat(MAX_SOURCE_BYTES)}\n`, false],
  ['empty', '  \n', false],
  ['not a string', 42, false],
];

type Outcome = { definition: unknown; json: string } | { error: DomainError; json: string };

async function outcome(parse: () => unknown): Promise<Outcome> {
  try {
    const definition = await parse();
    return { definition, json: JSON.stringify(definition) };
  } catch (error) {
    if (!(error instanceof DomainError)) throw error;
    // The key order too: the definition is stored in events, the extensions are sent to clients.
    return { error, json: JSON.stringify({ code: error.code, message: error.message, extensions: error.extensions }) };
  }
}

describe('parseFlowSourceAsync: the answers of parseFlowSource, large sources parsed in a worker thread', () => {
  afterAll(() => flowSourceWorkers.destroy());

  it.each(table)('%s', async (_name, source, pooled) => {
    const inline = await outcome(() => parseFlowSource(source));
    const before = flowSourceWorkers.completed;
    const viaPool = await outcome(() => parseFlowSourceAsync(source));
    expect(flowSourceWorkers.completed - before).toBe(pooled ? 1 : 0);
    expect(viaPool.json).toBe(inline.json);
    if ('error' in inline) {
      expect('error' in viaPool && viaPool.error).toBeInstanceOf(DomainError);
      expect('error' in viaPool && viaPool.error.extensions).toEqual(inline.error.extensions);
    } else {
      expect('definition' in viaPool && viaPool.definition).toEqual(inline.definition);
      // The source itself is not sent back by the worker: the caller's own string is put back.
      expect('definition' in viaPool && (viaPool.definition as { source: unknown }).source).toBe(source);
    }
  });

  it('covers both answers and the pool: the table has large valid and large refused sources', async () => {
    const pooled = table.filter(([, , viaPool]) => viaPool);
    const refused = await Promise.all(pooled.map(async ([, source]) => 'error' in (await outcome(() => parseFlowSource(source)))));
    expect(refused.filter(Boolean).length).toBeGreaterThan(5);
    expect(refused.filter((r) => !r).length).toBeGreaterThan(1);
  });

  it('several large sources at once all go to the pool, each with its own answer', async () => {
    const sources = Array.from({ length: 6 }, (_, i) => `${large.replace('id: big', `id: big${i}`)}${i % 2 ? task(3) : ''}`);
    const before = flowSourceWorkers.completed;
    const answers = await Promise.all(sources.map((source) => outcome(() => parseFlowSourceAsync(source))));
    expect(flowSourceWorkers.completed - before).toBe(sources.length);
    for (const [i, answer] of answers.entries()) expect(answer.json).toBe((await outcome(() => parseFlowSource(sources[i]))).json);
  });

  it('past threads + queue sources in flight, refuses with RATE_LIMITED and retryAfterSeconds instead of queueing without end', async () => {
    configureFlowSourceWorkers(1);
    try {
      const bound = 1 + QUEUE_PER_THREAD;
      const settled = await Promise.allSettled(Array.from({ length: bound + 2 }, () => parseFlowSourceAsync(large)));
      expect(settled.filter((s) => s.status === 'fulfilled')).toHaveLength(bound);
      const refusals = settled.flatMap((s) => (s.status === 'rejected' ? [s.reason as unknown] : []));
      expect(refusals).toHaveLength(2);
      for (const refusal of refusals) {
        expect(refusal).toBeInstanceOf(DomainError);
        expect(refusal).toMatchObject({ code: 'RATE_LIMITED', extensions: { retryAfterSeconds: 1 } });
      }
      // Small sources are parsed inline: never refused for the pool's sake.
      expect((await parseFlowSourceAsync(`${head}${task(1)}`)).id).toBe('big');
      // Once the queue has drained, large ones are taken again.
      expect((await parseFlowSourceAsync(large)).id).toBe('big');
    } finally {
      configureFlowSourceWorkers(defaultWorkerThreads());
    }
  });

  it('destroy() ends the threads; the next task starts a new pool', async () => {
    const pool = new WorkerPool<string, FlowSourceAnswer>({
      name: 'test',
      module: () => workerModule(new URL('../../src/aggregates/flow/flow-source.async.ts', import.meta.url).href, 'flow-source.worker'),
      threads: 1,
      maxQueue: 0,
    });
    expect(pool.alive).toBe(0);
    expect(await pool.run(large)).toMatchObject({ ok: true, definition: { id: 'big', source: '' } });
    expect(pool.alive).toBe(1);
    await pool.destroy();
    expect(pool.alive).toBe(0);
    expect(await pool.run(large)).toMatchObject({ ok: true });
    expect(pool.completed).toBe(2);
    await pool.destroy();
    expect(pool.alive).toBe(0);
  });

  /** Nice value of each thread of this process, by thread id (Linux: field 19 of /proc/self/task/<tid>/stat). */
  function threadNiceness(): Map<number, number> {
    const nice = new Map<number, number>();
    for (const tid of readdirSync('/proc/self/task')) {
      const fields = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
      nice.set(Number(tid), Number(fields[16]));
    }
    return nice;
  }

  it.skipIf(process.platform !== 'linux')('parser threads run at a lower priority than the event loop, which keeps its own', async () => {
    expect((await parseFlowSourceAsync(large)).id).toBe('big');
    const nice = threadNiceness();
    expect(nice.get(process.pid)).toBe(0);
    expect([...nice.values()].filter((value) => value === PARSER_NICE_INCREMENT).length).toBeGreaterThanOrEqual(1);
  });
});
