import { describe, expect, it } from 'vitest';
import { KeyedSerial } from '../../src/shared/keyed-serial.js';

const tick = async (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('KeyedSerial', () => {
  it('runs work on one key one at a time, in the order it was queued', async () => {
    const serial = new KeyedSerial();
    const log: string[] = [];
    let running = 0;
    let most = 0;
    const job = (name: string, ms: number) =>
      serial.run('k', async () => {
        running++;
        most = Math.max(most, running);
        log.push(`start ${name}`);
        await tick(ms);
        log.push(`end ${name}`);
        running--;
        return name;
      });
    expect(await Promise.all([job('a', 15), job('b', 1), job('c', 5)])).toEqual(['a', 'b', 'c']);
    expect(most).toBe(1);
    expect(log).toEqual(['start a', 'end a', 'start b', 'end b', 'start c', 'end c']);
  });

  it('runs work on different keys concurrently', async () => {
    const serial = new KeyedSerial();
    let running = 0;
    let most = 0;
    await Promise.all(
      ['x', 'y', 'z'].map((key) =>
        serial.run(key, async () => {
          running++;
          most = Math.max(most, running);
          await tick(10);
          running--;
        }),
      ),
    );
    expect(most).toBe(3);
  });

  it('a failure reaches its caller only, the next work on the key still runs, and an empty queue is forgotten', async () => {
    const serial = new KeyedSerial();
    const failed = serial.run('k', async () => {
      await tick(2);
      throw new Error('boom');
    });
    const next = serial.run('k', async () => 'ran');
    expect(serial.size).toBe(1);
    await expect(failed).rejects.toThrow('boom');
    expect(await next).toBe('ran');
    expect(serial.size).toBe(0);
  });
});
