/**
 * A save writes its source to the read models once: the flow's current
 * document holds no source (the revision's document does), so a large source
 * costs one document write per save instead of two, and a page of flows
 * does not read sources it was not asked for. Counted in bytes written, at
 * a 96 KB source.
 *
 * Regression: the `flows` document (v2) kept a copy of the current source
 * beside the one in `flow_revisions`; a 200 KB save wrote both on the event
 * loop (bench/README, "Isolation").
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FLOW_REVISIONS, flowRevisionDocId } from '../../src/projections/flow-revisions/flow-revisions.projection.js';
import { CountingDocuments } from '../support/counting-documents.js';
import { expectData, startTestGateway, type TestGateway } from '../support/gateway.js';

const PADDING = 96 * 1024;
const source = (n: number): string =>
  `id: big\nnamespace: company.team\ndescription: save ${n}\n# ${'x'.repeat(PADDING)}\ntasks:\n  - id: log\n    type: io.kestra.plugin.core.log.Log\n    message: hello ${n}\n`;

describe('flow sources: written once per save, read from the revision', () => {
  const documents = new CountingDocuments();
  let gw: TestGateway;

  beforeAll(async () => {
    gw = await startTestGateway({ wrapDocuments: documents.wrap });
    expectData(await gw.gql(`mutation($s: String!) { createFlow(source: $s) { revision } }`, { s: source(1) }, { tenant: 'main' }));
  });
  afterAll(async () => {
    await gw.dispose();
  });

  it('an update writes the source to flow_revisions only, and every read still answers it', async () => {
    await gw.app.projections.waitFor(await gw.eventCount(), 30_000);
    documents.reset();
    const saved = expectData(
      await gw.gql<{ updateFlow: { revision: number; source: string } }>(
        `mutation($s: String!) { updateFlow(namespace: "company.team", id: "big", source: $s) { revision source } }`,
        { s: source(2) },
        { tenant: 'main' },
      ),
    );
    expect(saved.updateFlow).toEqual({ revision: 2, source: source(2) });
    await gw.app.projections.waitFor(await gw.eventCount(), 30_000);

    // The flow's document: its fields without the source (a few hundred bytes).
    expect(documents.bytes('flows')).toBeGreaterThan(0);
    expect(documents.bytes('flows')).toBeLessThan(4 * 1024);
    // The revision's document: the source, once.
    expect(documents.bytes(FLOW_REVISIONS)).toBeGreaterThan(PADDING);
    expect(documents.bytes(FLOW_REVISIONS)).toBeLessThan(PADDING * 1.5);

    const read = expectData(
      await gw.gql<{
        flow: { revision: number; source: string; revisions: { revision: number; source: string }[] };
        old: { source: string };
        flows: { edges: { node: { id: string; source: string } }[] };
        resolvedFlow: { revision: number } | null;
      }>(
        `{ flow(namespace: "company.team", id: "big") { revision source revisions { revision source } }
           old: flow(namespace: "company.team", id: "big", revision: 1) { source }
           flows(namespace: "company.team") { edges { node { id source } } }
           resolvedFlow(namespace: "company.team", id: "big") { revision } }`,
        {},
        { tenant: 'main' },
      ),
    );
    expect(read.flow.revision).toBe(2);
    expect(read.flow.source).toBe(source(2));
    expect(read.flow.revisions).toEqual([
      { revision: 1, source: source(1) },
      { revision: 2, source: source(2) },
    ]);
    expect(read.old.source).toBe(source(1));
    expect(read.flows.edges).toEqual([{ node: { id: 'big', source: source(2) } }]);
    expect(read.resolvedFlow?.revision).toBe(2);
  });

  it('while the revisions read model lacks the current revision, the source comes from the flow’s stream', async () => {
    // What a lagging (or failing) flowRevisions projection looks like to a reader of the flows read model.
    const revisions = gw.app.readModels.forTenant(FLOW_REVISIONS, 'main');
    expect(await revisions.deleteOne({ _id: flowRevisionDocId('main', 'company.team', 'big', 2) })).toBe(1);

    const read = expectData(
      await gw.gql<{ flow: { source: string; revisions: { revision: number; source: string }[] }; resolvedFlow: { revision: number } }>(
        `{ flow(namespace: "company.team", id: "big") { source revisions { revision source } }
           resolvedFlow(namespace: "company.team", id: "big") { revision } }`,
        {},
        { tenant: 'main' },
      ),
    );
    expect(read.flow.source).toBe(source(2));
    // The revisions list shows what its read model has; the source of revision 1 is still read from it.
    expect(read.flow.revisions).toEqual([{ revision: 1, source: source(1) }]);
    expect(read.resolvedFlow.revision).toBe(2);
  });
});
