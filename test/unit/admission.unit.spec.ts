import { describe, expect, it } from 'vitest';
import { Admission } from '../../src/readmodels/admission.js';
import { inBackgroundLane, inRequestLane } from '../../src/readmodels/lanes.js';
import { DocumentStoreOverloadedError, DocumentStoreUnavailableError } from '../../src/readmodels/port.js';

/** An operation the test finishes by hand; `started` says whether admission let it run. */
function gate() {
  let finish: () => void = () => undefined;
  const done = new Promise<void>((resolve) => (finish = resolve));
  const op = { started: false, finish: () => finish(), run: async () => ((op.started = true), await done) };
  return op;
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe('read-model admission control (src/readmodels/admission.ts)', () => {
  it('sends at most maxInFlight operations at once; the rest wait, in order, and each freed slot goes to the next', async () => {
    const admission = new Admission({ maxInFlight: 2, maxQueuedReads: 10 });
    const ops = Array.from({ length: 5 }, gate);
    const runs = ops.map((op) => admission.run('write', op.run));
    await tick();
    expect(ops.map((o) => o.started)).toEqual([true, true, false, false, false]);
    expect(admission.stats()).toMatchObject({ inFlight: 2, waitingBackground: 3 });
    ops[1]!.finish();
    await tick();
    expect(ops.map((o) => o.started)).toEqual([true, true, true, false, false]);
    for (const op of ops) op.finish();
    await Promise.all(runs);
    expect(admission.stats()).toEqual({ inFlight: 0, waitingBackground: 0, waitingRequests: 0, refused: 0 });
  });

  it("refuses a request's read at once when maxQueuedReads are already waiting; background reads and all writes wait instead", async () => {
    const admission = new Admission({ maxInFlight: 1, maxQueuedReads: 2, retryAfterSeconds: 3 });
    const busy = gate();
    const first = admission.run('write', busy.run);
    await tick();
    const queued = [gate(), gate()];
    // Two tenants (one tenant may fill only half the queue), then a third finds the whole queue full.
    const waiting = queued.map((op, i) => inRequestLane(() => admission.run('read', op.run), `t${i}`));
    const refused = await inRequestLane(() => admission.run('read', () => Promise.resolve('sent')), 'other').catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(DocumentStoreOverloadedError);
    expect(refused).toBeInstanceOf(DocumentStoreUnavailableError);
    expect((refused as DocumentStoreOverloadedError).retryAfterSeconds).toBe(3);
    // Not refused: a request's write, a background read, a read outside any request.
    const others = [gate(), gate(), gate()];
    const otherRuns = [
      inRequestLane(() => admission.run('write', others[0]!.run)),
      inBackgroundLane(() => admission.run('read', others[1]!.run)),
      admission.run('read', others[2]!.run),
    ];
    await tick();
    expect(admission.stats()).toEqual({ inFlight: 1, waitingBackground: 3, waitingRequests: 2, refused: 1 });
    busy.finish();
    for (const op of [...queued, ...others]) op.finish();
    await Promise.all([first, ...waiting, ...otherRuns]);
    expect(admission.stats()).toMatchObject({ inFlight: 0, waitingBackground: 0, waitingRequests: 0 });
  });

  it('serves background work first, but gives every fourth freed slot to a waiting request read (slowed, not starved)', async () => {
    const admission = new Admission({ maxInFlight: 1, maxQueuedReads: 100 });
    const order: string[] = [];
    const busy = gate();
    const first = admission.run('write', busy.run);
    await tick();
    const runs: Promise<unknown>[] = [];
    for (let i = 0; i < 3; i++) runs.push(inRequestLane(() => admission.run('read', async () => void order.push(`request ${i}`))));
    for (let i = 0; i < 8; i++) runs.push(admission.run('write', async () => void order.push(`background ${i}`)));
    busy.finish();
    await Promise.all([first, ...runs]);
    expect(order).toEqual([
      'background 0',
      'background 1',
      'background 2',
      'request 0',
      'background 3',
      'background 4',
      'background 5',
      'request 1',
      'background 6',
      'background 7',
      'request 2',
    ]);
  });

  it("one tenant's reads hold at most half the slots and half the queue: another tenant's read still gets in, and goes first", async () => {
    const admission = new Admission({ maxInFlight: 4, maxQueuedReads: 8 });
    const a = Array.from({ length: 6 }, gate);
    const aRuns = a.map((op) => inRequestLane(() => admission.run('read', op.run), 'a'));
    await tick();
    // Two on the wire (half of 4), four waiting (half of 8): A's next read is refused though slots are free.
    expect(a.map((op) => op.started)).toEqual([true, true, false, false, false, false]);
    expect(admission.stats()).toMatchObject({ inFlight: 2, waitingRequests: 4 });
    const refused = await inRequestLane(() => admission.run('read', () => Promise.resolve()), 'a').catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(DocumentStoreOverloadedError);
    // B finds a slot at once, however many reads A has sent.
    const b = [gate(), gate(), gate()];
    const bRuns = b.map((op) => inRequestLane(() => admission.run('read', op.run), 'b'));
    await tick();
    expect(b.map((op) => op.started)).toEqual([true, true, false]);
    // A slot frees up (one of A's): A is at its cap again after taking it, so turns alternate A, B.
    a[0]!.finish();
    await tick();
    expect(a[2]!.started).toBe(true);
    b[0]!.finish();
    await tick();
    expect(b[2]!.started).toBe(true);
    for (const op of [...a, ...b]) op.finish();
    await Promise.all([...aRuns, ...bRuns]);
    expect(admission.stats()).toMatchObject({ inFlight: 0, waitingRequests: 0 });
  });

  it('waiting tenants take turns: one read each, round robin, not first come first served', async () => {
    const admission = new Admission({ maxInFlight: 2, maxQueuedReads: 100 });
    const order: string[] = [];
    const busy = [gate(), gate()];
    const held = busy.map((op) => admission.run('write', op.run));
    await tick();
    const runs: Promise<unknown>[] = [];
    for (let i = 0; i < 4; i++) runs.push(inRequestLane(() => admission.run('read', async () => void order.push(`a${i}`)), 'a'));
    for (let i = 0; i < 2; i++) runs.push(inRequestLane(() => admission.run('read', async () => void order.push(`b${i}`)), 'b'));
    runs.push(inRequestLane(() => admission.run('read', async () => void order.push('c0')), 'c'));
    busy[0]!.finish();
    busy[1]!.finish();
    await Promise.all([...held, ...runs]);
    expect(order).toEqual(['a0', 'b0', 'c0', 'a1', 'b1', 'a2', 'a3']);
  });

  it('a failing operation frees its slot like one that succeeds', async () => {
    const admission = new Admission({ maxInFlight: 1, maxQueuedReads: 1 });
    const failure = await admission.run('read', () => Promise.reject(new Error('boom'))).catch((e: unknown) => e);
    expect((failure as Error).message).toBe('boom');
    expect(await admission.run('read', () => Promise.resolve('next'))).toBe('next');
    expect(admission.stats().inFlight).toBe(0);
  });

  it('refuses settings that would admit nothing', () => {
    expect(() => new Admission({ maxInFlight: 0, maxQueuedReads: 1 })).toThrow(RangeError);
    expect(() => new Admission({ maxInFlight: 1, maxQueuedReads: 0.5 })).toThrow(RangeError);
  });
});
