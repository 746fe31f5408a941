/**
 * A flow's history may grow without its saves, restores and time-travel reads
 * costing more: counted in events read from the log and bytes written to the
 * read models (never in time), at 20 and at 200 revisions.
 *
 * Regression: updateFlow was quadratic. Every update folded the whole stream
 * twice (the decision, then the answer), copying the list of every revision
 * per event, and rewrote a flow document that embedded that list.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CountingDocuments } from '../support/counting-documents.js';
import { CountingEvents } from '../support/counting-events.js';
import { expectData, startTestGateway, type TestGateway } from '../support/gateway.js';

const source = (n: number): string =>
  `id: long\nnamespace: company.team\ndescription: save ${n}\ntasks:\n  - id: log\n    type: io.kestra.plugin.core.log.Log\n    message: hello ${n}\n`;

interface FlowAnswer {
  revision: number;
  updatedAt: string;
  revisionCount: number;
  source: string;
  revisions: { revision: number; restoredFrom: number | null; source: string }[];
}

describe('flow history: the cost of a save does not grow with the number of revisions', () => {
  const events = new CountingEvents();
  const documents = new CountingDocuments();
  let gw: TestGateway;
  let saves = 0;
  const times: string[] = [];

  beforeAll(async () => {
    gw = await startTestGateway({ wrapEvents: events.wrap, wrapDocuments: documents.wrap });
    expectData(await gw.gql(`mutation($s: String!) { createFlow(source: $s) { revision } }`, { s: source(0) }, { tenant: 'main' }));
    saves = 1;
  });
  afterAll(async () => {
    await gw.dispose();
  });

  async function updateTo(revisions: number): Promise<void> {
    while (saves < revisions) {
      const data = expectData(
        await gw.gql<{ updateFlow: { revision: number; updatedAt: string } }>(
          `mutation($s: String!) { updateFlow(namespace: "company.team", id: "long", source: $s) { revision updatedAt } }`,
          { s: source(saves) },
          { tenant: 'main' },
        ),
      );
      saves = data.updateFlow.revision;
      times.push(data.updateFlow.updatedAt);
    }
  }

  /** One update, measured: events read from streams, and bytes written to the flows and revisions read models. */
  async function measuredUpdate(): Promise<{ eventsRead: number; flowBytes: number; answer: FlowAnswer }> {
    await gw.app.projections.waitFor(await gw.eventCount(), 30_000);
    events.reset();
    documents.reset();
    const data = expectData(
      await gw.gql<{ updateFlow: FlowAnswer }>(
        `mutation($s: String!) { updateFlow(namespace: "company.team", id: "long", source: $s) {
           revision updatedAt revisionCount source revisions(last: 2) { revision restoredFrom source } } }`,
        { s: source(saves) },
        { tenant: 'main' },
      ),
    );
    saves = data.updateFlow.revision;
    times.push(data.updateFlow.updatedAt);
    return { eventsRead: events.streamEventsRead, flowBytes: documents.bytes('flows'), answer: data.updateFlow };
  }

  it('updateFlow reads as many events and writes as many bytes at 200 revisions as at 20', { timeout: 120_000 }, async () => {
    await updateTo(20);
    const short = await measuredUpdate();
    await updateTo(200);
    const long = await measuredUpdate();

    expect(short.answer.revision).toBe(21);
    expect(long.answer.revision).toBe(201);
    expect(long.answer.revisionCount).toBe(201);
    expect(long.answer.source).toBe(source(200));
    expect(long.answer.revisions.map((r) => r.revision)).toEqual([200, 201]);

    // Today: no event of the flow's stream is read at all (its state is cached); never the history.
    expect(long.eventsRead).toBeLessThanOrEqual(short.eventsRead + 2);
    expect(long.eventsRead).toBeLessThan(10);
    // The flow's document does not grow with its history (one more digit in the revision number at most).
    expect(long.flowBytes).toBeGreaterThan(0);
    expect(long.flowBytes).toBeLessThanOrEqual(short.flowBytes + 16);
  });

  it('restoreFlowRevision finds an old revision in O(log n) reads of the log', async () => {
    events.reset();
    const data = expectData(
      await gw.gql<{ restoreFlowRevision: FlowAnswer }>(
        `mutation { restoreFlowRevision(namespace: "company.team", id: "long", revision: 7) {
           revision source revisions(last: 1) { revision restoredFrom source } } }`,
        {},
        { tenant: 'main' },
      ),
    );
    saves = data.restoreFlowRevision.revision;
    expect(data.restoreFlowRevision.source).toBe(source(6));
    expect(data.restoreFlowRevision.revisions).toEqual([{ revision: saves, restoredFrom: 7, source: source(6) }]);
    // A binary search over 200 events: about log2(200) ≈ 8 single-event reads (the old fold read all 200, twice).
    expect(events.streamEventsRead).toBeLessThanOrEqual(20);
  });

  it('flow(asOf) reads at most one snapshot interval of events, and answers as the flow was then', async () => {
    const at = times[150]!; // the time revision 152 was saved (times[0] is revision 2's)
    const expected = times.lastIndexOf(at) + 2; // saves within the same millisecond count too
    events.reset();
    const data = expectData(
      await gw.gql<{ flow: FlowAnswer }>(
        `query($at: DateTime) { flow(namespace: "company.team", id: "long", asOf: $at) { revision revisionCount source revisions(last: 1) { revision } } }`,
        { at },
        { tenant: 'main' },
      ),
    );
    expect(data.flow.revision).toBe(expected);
    expect(data.flow.revisionCount).toBe(expected);
    expect(data.flow.source).toBe(source(expected - 1));
    expect(data.flow.revisions).toEqual([{ revision: expected }]);
    expect(events.streamEventsRead).toBeLessThanOrEqual(101);
  });
});
