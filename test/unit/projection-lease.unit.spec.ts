import { describe, expect, it } from 'vitest';
import { LEASES, ProjectionLease, type LeaseDocument } from '../../src/projections/runtime/lease.js';
import { MemoryDocumentStore } from '../../src/readmodels/memory.js';
import type { Collection } from '../../src/readmodels/port.js';

/** The real in-memory collection, with its findOne held back by the test while `hold` is set. */
function heldBack(collection: Collection<LeaseDocument>) {
  const control = { hold: null as Promise<void> | null };
  const proxy = new Proxy(collection, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver) as unknown;
      if (property !== 'findOne' || typeof value !== 'function') return value;
      return async (...args: unknown[]) => {
        if (control.hold) await control.hold;
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  return { proxy, control };
}

describe('projection lease (src/projections/runtime/lease.ts)', () => {
  it('a renewal still in flight when the holder releases does not take the lease back (graceful stop leaves it free)', async () => {
    const store = new MemoryDocumentStore();
    const leases = store.collection<LeaseDocument>(LEASES);
    const { proxy, control } = heldBack(leases);
    const lease = new ProjectionLease(proxy, 'ledger_v1', 'host:1', 30_000);
    expect(await lease.tryAcquire()).toBe(true);

    // The renewal timer fires: its read is slow. Then stop() releases the lease.
    let finishRead: () => void = () => undefined;
    control.hold = new Promise<void>((resolve) => (finishRead = resolve));
    const renewal = lease.tryAcquire();
    const release = lease.release();
    await new Promise((resolve) => setImmediate(resolve));
    control.hold = null;
    finishRead();
    await Promise.all([renewal, release]);

    const stored = await leases.findOne({ _id: 'ledger_v1' });
    expect(stored?.expiresAt).toBe(0);
    expect(lease.held).toBe(false);
    // Another replica takes it over at once.
    const next = new ProjectionLease(leases, 'ledger_v1', 'host:2', 30_000);
    expect(await next.tryAcquire()).toBe(true);
  });

  it('a failed operation does not jam the ones after it', async () => {
    const store = new MemoryDocumentStore();
    const leases = store.collection<LeaseDocument>(LEASES);
    let fail = true;
    const flaky = new Proxy(leases, {
      get(target, property, receiver) {
        const value = Reflect.get(target, property, receiver) as unknown;
        if (property !== 'findOne' || typeof value !== 'function') return value;
        return async (...args: unknown[]) => {
          if (fail) throw new Error('store unavailable');
          return (value as (...a: unknown[]) => unknown).apply(target, args);
        };
      },
    });
    const lease = new ProjectionLease(flaky, 'audit_v1', 'host:1', 30_000);
    await expect(lease.tryAcquire()).rejects.toThrow('store unavailable');
    fail = false;
    expect(await lease.tryAcquire()).toBe(true);
    await lease.release();
    expect((await leases.findOne({ _id: 'audit_v1' }))?.expiresAt).toBe(0);
  });
});
