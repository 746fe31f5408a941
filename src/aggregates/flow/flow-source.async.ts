/**
 * parseFlowSource off the event loop. A large source takes one synchronous
 * call of tens to hundreds of milliseconds (measured: 64 KB ≈ 30–35 ms,
 * 256 KB ≈ 140–200 ms, 500 KB ≈ 380 ms), during which no other tenant is
 * served; it goes to a worker thread instead. A small one is parsed inline:
 * at most INLINE_PARSE_MAX_CHARS it blocks about one slice of the Slicer
 * (shared/slices.ts, 1 ms), and most flows are a few KB.
 *
 * The answer is exactly inline parsing's: the same FlowDefinition, or the
 * same DomainError (code, message, extensions), rebuilt on this side.
 */
import { DomainError } from '../../shared/errors.js';
import { defaultWorkerThreads, WorkerPool, workerModule } from '../../shared/worker-pool.js';
import { MAX_SOURCE_BYTES, parseFlowDocument, parseFlowSource, type FlowDefinition } from './flow-source.js';
import type { FlowSourceAnswer, FlowSourceTask } from './flow-source.worker.js';

/**
 * Larger sources go to the pool. Measured on a 2-core machine: a warm
 * worker's round trip costs 0.05–0.1 ms and parsing about 0.45 ms per KB
 * (1 KB ≈ 0.4 ms, 16 KB ≈ 7 ms), so the thread would pay off above about
 * 1 KB on latency alone; the bound is where inline parsing starts to cost
 * the event loop about one 1 ms slice (2 KB ≈ 0.9 ms).
 */
export const INLINE_PARSE_MAX_CHARS = 2 * 1024;
/** Sources that may wait for a thread, per thread (a 500 KB parse takes about 0.4 s). */
export const QUEUE_PER_THREAD = 8;

/** How much lower the parser threads' priority is than the event loop's (nice 10: about a tenth of a core under contention). */
export const PARSER_NICE_INCREMENT = 10;

/** One pool per process: its threads share the process's cores, whichever gateway or command parses. */
export const flowSourceWorkers = new WorkerPool<FlowSourceTask, FlowSourceAnswer>({
  name: 'flow source parsing',
  module: () => workerModule(import.meta.url, 'flow-source.worker'),
  threads: defaultWorkerThreads(),
  maxQueue: defaultWorkerThreads() * QUEUE_PER_THREAD,
  // One tenant's large sources must not take the cores from every other tenant's light requests.
  niceIncrement: PARSER_NICE_INCREMENT,
});

/** Pool size (TENANTRY_WORKER_THREADS); the queue bound follows it. */
export function configureFlowSourceWorkers(threads: number): void {
  flowSourceWorkers.resize(threads, threads * QUEUE_PER_THREAD);
}

/**
 * parseFlowSource, with a large source parsed in a worker thread. Throws
 * what parseFlowSource throws, and RATE_LIMITED (`retryAfterSeconds`) when
 * the pool's queue is full.
 */
export async function parseFlowSourceAsync(source: unknown): Promise<FlowDefinition> {
  // Refused at once, or small: not worth a thread.
  if (typeof source !== 'string' || source.length <= INLINE_PARSE_MAX_CHARS || Buffer.byteLength(source) > MAX_SOURCE_BYTES) {
    return parseFlowSource(source);
  }
  const answer = await flowSourceWorkers.run(source);
  if (!answer.ok) throw new DomainError(answer.error.code, answer.error.message, answer.error.extensions);
  answer.definition.source = source;
  return answer.definition;
}

/** parseFlowDocument (the definition and the whole parsed mapping), a large source parsed in a worker thread as above. */
export async function parseFlowDocumentAsync(source: unknown): Promise<{ definition: FlowDefinition; document: Record<string, unknown> }> {
  if (typeof source !== 'string' || source.length <= INLINE_PARSE_MAX_CHARS || Buffer.byteLength(source) > MAX_SOURCE_BYTES) {
    return parseFlowDocument(source);
  }
  const answer = await flowSourceWorkers.run({ source, document: true });
  if (!answer.ok) throw new DomainError(answer.error.code, answer.error.message, answer.error.extensions);
  if (!answer.document) throw new Error('the parser thread sent no document back');
  answer.definition.source = source;
  return { definition: answer.definition, document: answer.document };
}
