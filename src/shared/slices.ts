/**
 * Cooperative time slicing: long loops on the one event loop (replays,
 * verification, exports, cold aggregate loads) call `tick()` per item, and
 * every `budgetMs` of work they give the event loop a turn (`setImmediate`),
 * so that other requests, timers and I/O are served in between. A loop that
 * awaits only already-resolved promises (the memory store, better-sqlite3)
 * never yields on its own: microtasks run before any I/O callback.
 *
 * The slicer also carries the request's deadline: once its signal is aborted,
 * the next `tick()` throws the signal's reason, so an execution timeout
 * really stops the work instead of merely no longer waiting for it.
 */
import { setImmediate as yieldToLoop } from 'node:timers/promises';

/**
 * Default slice. A light request that arrives while long work runs waits up
 * to one slice at each step that goes through the event loop (the socket,
 * the store, the response), so the slice bounds what one tenant's heavy
 * request adds to another's light one. 1 ms: on a two-core machine, with a
 * full verification or 200 KB saves running, another tenant's p99 was
 * 2.7× its idle p99 with 3 ms slices and 1.5–1.8× with 1 ms (8 ms had let
 * it triple; bench/README.md, isolation), and the verification was not
 * slower: a yield costs a few microseconds.
 */
export const DEFAULT_SLICE_MS = 1;

const NEVER: AbortSignal = new AbortController().signal;

export class Slicer {
  private sliceStart = performance.now();
  /** How many times this slicer gave the event loop a turn (tests count it). */
  yields = 0;

  constructor(
    readonly signal: AbortSignal = NEVER,
    private readonly budgetMs: number = DEFAULT_SLICE_MS,
  ) {}

  /** Throws the abort reason when the deadline has passed. */
  check(): void {
    if (this.signal.aborted) throw abortError(this.signal);
  }

  /** Cheap when the slice is not spent; otherwise one turn of the event loop. Throws once aborted. */
  async tick(): Promise<void> {
    if (this.signal.aborted) throw abortError(this.signal);
    if (performance.now() - this.sliceStart < this.budgetMs) return;
    await this.yield();
  }

  /** Gives the event loop a turn now. */
  async yield(): Promise<void> {
    await yieldToLoop();
    this.yields++;
    this.sliceStart = performance.now();
    if (this.signal.aborted) throw abortError(this.signal);
  }
}

function abortError(signal: AbortSignal): Error {
  const reason: unknown = signal.reason;
  return reason instanceof Error ? reason : new Error(typeof reason === 'string' ? reason : 'aborted');
}

/** A signal that never aborts (work without a deadline: the CLI, background jobs). */
export const noDeadline = (): AbortSignal => NEVER;
