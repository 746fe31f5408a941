/**
 * Time travel reads a bounded number of events, whatever the length of the
 * history: counted in events read from the log (never time).
 *
 * Regression: effectivePermissions(asOf) folded every binding, group and role
 * event of the tenant; namespace(asOf), role(asOf) and flow(asOf) folded
 * their whole stream up to T.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CountingEvents } from '../support/counting-events.js';
import { expectData, startTestGateway, type TestGateway } from '../support/gateway.js';

const UPDATES = 160;

describe('time travel: the events read do not grow with the history', () => {
  const events = new CountingEvents();
  let gw: TestGateway;
  const times: string[] = [];

  beforeAll(async () => {
    gw = await startTestGateway({ wrapEvents: events.wrap });
    const g = async (query: string) => expectData(await gw.gql<Record<string, { updatedAt?: string }>>(query, {}, { tenant: 'main' }));
    expectData(await gw.gql(`mutation { createUser(input: {id: "erin", email: "erin@example.com"}) { id } }`));
    await g(`mutation { createRole(input: {id: "churn", permissions: [{resource: "FLOW", actions: ["VIEW"]}]}) { id } }`);
    await g(`mutation { createBinding(input: {principalType: USER, principalId: "erin", roleId: "churn"}) { id } }`);
    await g(`mutation { createNamespace(input: {id: "busy"}) { id } }`);
    // A long history: the role alternates between two permission sets, the namespace's variables change each time.
    for (let i = 1; i <= UPDATES; i++) {
      const actions = i % 2 === 0 ? '["VIEW"]' : '["VIEW", "LIST"]';
      await g(`mutation { updateRole(id: "churn", input: {permissions: [{resource: "FLOW", actions: ${actions}}]}) { id } }`);
      const ns = await g(`mutation { updateNamespace(id: "busy", input: {variables: {i: ${i}}}) { updatedAt } }`);
      times.push(ns['updateNamespace']?.updatedAt ?? '');
    }
    expect(await gw.app.projections.waitFor(await gw.eventCount(), 30_000)).toBe(true);
    // Time travel once through each stream, as a first reader would: snapshots are taken on the way.
    await gw.gql(`query($at: DateTime) { namespace(id: "busy", asOf: $at) { revision } }`, { at: times.at(-1) }, { tenant: 'main' });
    await gw.gql(`query($at: DateTime) { role(id: "churn", asOf: $at) { id } }`, { at: times.at(-1) }, { tenant: 'main' });
  }, 120_000);
  afterAll(async () => {
    await gw.dispose();
  });

  it('namespace(asOf) and role(asOf) read at most one snapshot interval of their stream', async () => {
    const at = times[130] ?? '';
    events.reset();
    const data = expectData(
      await gw.gql<{ namespace: { variables: { i: number } }; role: { permissions: { actions: string[] }[] } }>(
        `query($at: DateTime) { namespace(id: "busy", asOf: $at) { variables } role(id: "churn", asOf: $at) { permissions { actions } } }`,
        { at },
        { tenant: 'main' },
      ),
    );
    expect(data.namespace.variables.i).toBeGreaterThanOrEqual(131);
    expect(events.logEventsRead).toBe(0);
    expect(events.streamEventsRead).toBeLessThanOrEqual(2 * 101);
  });

  it('effectivePermissions(asOf) folds only the streams that existed, each from its nearest snapshot', async () => {
    const at = times[130] ?? '';
    events.reset();
    const data = expectData(
      await gw.gql<{ effectivePermissions: { resource: string; action: string }[] }>(
        `query($at: DateTime) { effectivePermissions(principalId: "erin", asOf: $at) { resource action } }`,
        { at },
        { tenant: 'main' },
      ),
    );
    expect(data.effectivePermissions.map((p) => `${p.resource}:${p.action}`)).toContain('FLOW:VIEW');
    // No category-wide read of the log (the old fold read every binding, group and role event: 160+ here).
    expect(events.logEventsRead).toBe(0);
    // The role's stream from its snapshot, plus the short binding streams (the bootstrap admin's, erin's).
    expect(events.streamEventsRead).toBeLessThanOrEqual(101 + 10);
  });
});
