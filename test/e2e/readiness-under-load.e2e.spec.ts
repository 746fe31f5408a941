/**
 * /readyz under steady writes: a projection a bounded number of events behind
 * and moving is ready (every write puts it a few events behind for a moment;
 * requiring zero made a loaded gateway flap out of its load balancer), one
 * beyond TENANTRY_READY_MAX_LAG_EVENTS or stalled is not. The projections are
 * held back by a hook on the real document store.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createTenant } from '../support/access.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { HookedStore, sleep } from '../support/store-hooks.js';

const WRITES = new Set([
  'insertOne',
  'insertMany',
  'updateOne',
  'updateMany',
  'replaceOne',
  'deleteOne',
  'deleteMany',
  'bulkWrite',
  'findOneAndUpdate',
]);

let gw: TestGateway | undefined;
afterEach(async () => {
  await gw?.dispose();
  gw = undefined;
});

async function heldBack(env: Record<string, string>): Promise<{ gw: TestGateway; release: () => void }> {
  const store = new HookedStore();
  const started = await startTestGateway({
    wrapDocuments: store.wrap,
    env: { TENANTRY_READ_YOUR_WRITES_TIMEOUT_MS: '200', ...env },
  });
  await createTenant(started, 'acme');
  await started.gql(`mutation { createNamespace(input: {id: "warm"}) { id } }`, {}, { tenant: 'acme' });
  await expect.poll(async () => (await fetch(`${started.url}/readyz`)).status, { timeout: 10_000 }).toBe(200);
  let open!: () => void;
  const gate = new Promise<void>((resolve) => (open = resolve));
  // Read-model writes wait at the gate: every projection stops where it is, without an error.
  store.hook = async (_collection, method) => {
    if (WRITES.has(method)) await gate;
  };
  for (let i = 0; i < 3; i++) {
    const answer = await started.gql(`mutation { createNamespace(input: {id: "n${i}"}) { id } }`, {}, { tenant: 'acme' });
    expect(answer.errors).toBeUndefined();
  }
  return { gw: started, release: () => open() };
}

const readiness = async (g: TestGateway) => {
  const res = await fetch(`${g.url}/readyz`);
  return { status: res.status, body: (await res.json()) as { projections: { lagEvents: number; stalled?: unknown }[] } };
};

describe('/readyz under steady writes', () => {
  it('a few events behind, not failing and not stalled: ready', async () => {
    const held = await heldBack({ TENANTRY_PROJECTION_STALL_MS: '60000' });
    gw = held.gw;
    const { status, body } = await readiness(gw);
    expect(Math.max(...body.projections.map((p) => p.lagEvents))).toBeGreaterThan(0);
    expect(status).toBe(200);
    held.release();
  });

  it('more than TENANTRY_READY_MAX_LAG_EVENTS behind: not ready', async () => {
    const held = await heldBack({ TENANTRY_PROJECTION_STALL_MS: '60000', TENANTRY_READY_MAX_LAG_EVENTS: '1' });
    gw = held.gw;
    const { status, body } = await readiness(gw);
    expect(Math.max(...body.projections.map((p) => p.lagEvents))).toBeGreaterThan(1);
    expect(status).toBe(503);
    held.release();
    await expect.poll(async () => (await fetch(`${gw!.url}/readyz`)).status, { timeout: 10_000 }).toBe(200);
  });

  it('a little behind but not moving for TENANTRY_PROJECTION_STALL_MS: not ready, and named', async () => {
    const held = await heldBack({ TENANTRY_PROJECTION_STALL_MS: '300' });
    gw = held.gw;
    await sleep(1500);
    const { status, body } = await readiness(gw);
    expect(body.projections.some((p) => p.stalled)).toBe(true);
    expect(status).toBe(503);
    held.release();
  });

  it('answers within about a second when the read models take the ping and never answer', async () => {
    let hang = false;
    gw = await startTestGateway({
      wrapDocuments: (inner) =>
        new Proxy(inner, {
          get(target, property, receiver) {
            if (property === 'ping' && hang) return () => new Promise<void>(() => undefined);
            const value = Reflect.get(target, property, receiver) as unknown;
            return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
          },
        }),
    });
    await expect.poll(async () => (await fetch(`${gw!.url}/readyz`)).status, { timeout: 10_000 }).toBe(200);
    hang = true;
    const started = Date.now();
    const res = await fetch(`${gw.url}/readyz`);
    expect(Date.now() - started).toBeLessThan(3000);
    expect(res.status).toBe(503);
    expect(((await res.json()) as { checks: { readModels: string } }).checks.readModels).toMatch(/did not answer within 1000 ms/);
  });
});
