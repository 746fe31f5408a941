import { describe, expect, it } from 'vitest';
import { LOOP_DELAY_RESOLUTION_MS, LoopDelayMonitor } from '../../src/server/metrics.js';

/** A few turns of the event loop, timers included. */
async function turns(n: number): Promise<void> {
  for (let i = 0; i < n; i++) await new Promise((resolve) => setTimeout(resolve, 1));
}

function block(ms: number): void {
  const start = performance.now();
  while (performance.now() - start < ms);
}

describe('LoopDelayMonitor: event-loop delay over fixed windows', () => {
  it('reports a blocked loop in the window that saw it, and only there; stop() ends the sampling', async () => {
    // A window far longer than the test: the windows close only by rotate().
    const monitor = new LoopDelayMonitor(3_600_000);
    try {
      // Node's delay histogram records nothing before its first sample (it has no time to compare with): wait for it.
      while (monitor.window().samples === 0) await turns(1);
      block(250);
      // The sampling timer was due during the block: it runs late now, and records how late.
      await turns(5);
      monitor.rotate();
      const blocked = monitor.window();
      expect(blocked.samples).toBeGreaterThan(0);
      // At least the block, less the sampling interval (a loaded machine only adds to it).
      expect(blocked.max).toBeGreaterThanOrEqual((250 - LOOP_DELAY_RESOLUTION_MS) / 1000);
      for (const seconds of blocked.quantiles.values()) {
        expect(seconds).toBeGreaterThanOrEqual(0);
        expect(seconds).toBeLessThanOrEqual(blocked.max);
      }
      expect([...blocked.quantiles.keys()]).toEqual([0.5, 0.9, 0.99]);

      // Closed at once, without a turn of the loop in between: the new window saw nothing, the block is gone from it.
      monitor.rotate();
      expect(monitor.window()).toEqual({
        quantiles: new Map([
          [0.5, 0],
          [0.9, 0],
          [0.99, 0],
        ]),
        max: 0,
        samples: 0,
      });
    } finally {
      monitor.stop();
    }
    await turns(5);
    monitor.rotate();
    expect(monitor.window().samples).toBe(0);
  });
});
