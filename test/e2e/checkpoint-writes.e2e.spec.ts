import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHECKPOINTS } from '../../src/projections/runtime/runner.js';
import { expectData, startTestGateway, type TestGateway } from '../support/gateway.js';
import { waitUntil } from '../support/process.js';
import { HookedStore } from '../support/store-hooks.js';

/**
 * Issue 19 (recovery under load): every event cost one checkpoint write per
 * projection, whether the projection had anything to do with it or not: 14
 * writes to the read-model store for a createNamespace that changes a few
 * read models. On a networked store that was most of the steady-state load,
 * and the backlog after an outage drained slower than it grew. A batch
 * without events of a projection's types now defers its checkpoint move
 * (TENANTRY_CHECKPOINT_DEFER_MS at most, 250 by default) to the next
 * write. Counted, not timed.
 */
class CheckpointWrites extends HookedStore {
  count = 0;
  constructor() {
    super();
    this.hook = (collection, method) => {
      if (collection === CHECKPOINTS && method === 'updateOne') this.count++;
      return Promise.resolve();
    };
  }
}

const DEFER_MS = 2_000;

describe('projection checkpoints: a write per batch that changed something, not per projection per event', () => {
  const writes = new CheckpointWrites();
  let gw: TestGateway;

  beforeAll(async () => {
    // A window longer than the 250 ms default: on a loaded machine (CI's MongoDB pass) 40 mutations one after another can
    // take several seconds, and a window that closes between two of them moves every checkpoint once per event.
    gw = await startTestGateway({ wrapDocuments: writes.wrap, env: { TENANTRY_CHECKPOINT_DEFER_MS: String(DEFER_MS) } });
    expectData(await gw.gql(`mutation { createNamespace(input: {id: "team"}) { id } }`, {}, { tenant: 'main' }));
  });
  afterAll(async () => {
    await gw.dispose();
  });

  it('40 namespaces, one after another: far fewer checkpoint writes than projections × events, and every checkpoint stored soon after', async () => {
    const projections = gw.app.projections.runners.length;
    await new Promise((resolve) => setTimeout(resolve, 400));
    writes.count = 0;
    const events = 40;
    const started = Date.now();
    for (let k = 0; k < events; k++) {
      expectData(await gw.gql(`mutation { createNamespace(input: {id: "team.n${k}"}) { id } }`, {}, { tenant: 'main' }));
    }
    const windows = Math.ceil((Date.now() - started) / DEFER_MS) + 1;
    console.log(
      `[checkpoint-writes] ${writes.count} checkpoint writes for ${events} events and ${projections} projections in ${windows} windows`,
    );
    // Before: one write per projection per event (each mutation is one batch of one event for every runner).
    expect(projections).toBeGreaterThanOrEqual(10);
    expect(writes.count).toBeLessThan((projections * events) / 2);
    // After: each projection an event concerns writes its batch; the others move theirs at most once a window.
    const concerned = gw.app.projections.runners.filter((r) => r.projection.eventTypes.has('NamespaceCreated')).length;
    expect(writes.count).toBeLessThanOrEqual(concerned * events + (projections - concerned) * windows);
    // The deferred moves are made within the window: what is stored reaches the head, for every projection.
    const head = await gw.app.events.headPosition();
    const stored = gw.app.documents.collection<{ _id: string; position: number }>(CHECKPOINTS);
    await waitUntil(
      'every stored checkpoint to reach the head',
      async () => {
        const checkpoints = await stored.find({});
        const live = gw.app.projections.runners.map((r) => r.status().position);
        return live.every((p) => p >= head) && checkpoints.filter((c) => c.position >= head).length >= projections;
      },
      DEFER_MS + 5_000,
    );
  });
});
