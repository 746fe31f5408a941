import { describe, expect, it } from 'vitest';
import { flowDecider, snapshotOf, type FlowCommand, type FlowEvent, type FlowState } from '../../src/aggregates/flow/flow.js';
import { parseFlowSource } from '../../src/aggregates/flow/flow-source.js';
import type { RecordedEvent } from '../../src/eventstore/port.js';
import { MemoryDocumentStore } from '../../src/readmodels/memory.js';
import { flowRevisionsProjection, FLOW_REVISIONS } from '../../src/projections/flow-revisions/flow-revisions.projection.js';
import { flowsProjection, FLOWS } from '../../src/projections/flows/flows.projection.js';
import type { ProjectionTarget } from '../../src/projections/runtime/projection.js';
import { commandMetadata } from '../support/decider.js';

const metadata = commandMetadata({ actor: { type: 'USER', id: 'ann' } });

const source = (message: string, extra = ''): string =>
  `id: hello\nnamespace: company.team\n${extra}tasks:\n  - id: log\n    type: io.kestra.plugin.core.log.Log\n    message: ${message}\n`;

const create = (src: string): FlowCommand => ({ type: 'CreateFlow', data: { definition: parseFlowSource(src) }, metadata });
const update = (src: string, expectedRevision?: number): FlowCommand => ({
  type: 'UpdateFlow',
  data: { namespace: 'company.team', id: 'hello', definition: parseFlowSource(src), expectedRevision },
  metadata,
});
/** `saved` is filled in by `run` from the events so far, as the application finds it in the flow's stream. */
const restore = (revision: number): FlowCommand => ({
  type: 'RestoreFlowRevision',
  data: { namespace: 'company.team', id: 'hello', revision, saved: null },
  metadata,
});

function withSaved(command: FlowCommand, events: readonly FlowEvent[]): FlowCommand {
  if (command.type !== 'RestoreFlowRevision') return command;
  const save = events.find((e) => e.type !== 'FlowDeleted' && e.data.revision === command.data.revision);
  const saved = save && save.type !== 'FlowDeleted' ? snapshotOf(save.data) : null;
  return { ...command, data: { ...command.data, saved } };
}
const remove: FlowCommand = { type: 'DeleteFlow', data: { namespace: 'company.team', id: 'hello' }, metadata };

/** Runs commands in order, returning every event and the final state. */
function run(...commands: FlowCommand[]): { events: FlowEvent[]; state: FlowState } {
  let state = flowDecider.initialState();
  const events: FlowEvent[] = [];
  for (const command of commands) {
    for (const event of flowDecider.decide(withSaved(command, events), state)) {
      events.push(event);
      state = flowDecider.evolve(state, event);
    }
  }
  return { events, state };
}

const revisionOf = (state: FlowState): number => (state.status === 'absent' ? 0 : state.current.revision);

describe('flow decider', () => {
  it('counts saves: create 1, updates +1, unchanged source writes nothing, restore saves the old source as a new revision', () => {
    const { events, state } = run(create(source('one')), update(source('two')), update(source('two')), update(source('three')), restore(1));
    expect(events.map((e) => e.type)).toEqual(['FlowCreated', 'FlowUpdated', 'FlowUpdated', 'FlowUpdated']);
    expect(state.status === 'active' && state.current).toMatchObject({ revision: 4, source: source('one') });
    expect(events[3]).toMatchObject({
      data: { revision: 4, restoredFrom: 1, changes: { revision: { before: 3, after: 4 } } },
      namespace: 'company.team',
    });
  });

  it('reports what changed besides the source for the audit log', () => {
    const { events } = run(create(source('one')), update(source('one', 'description: new\ndisabled: true\n')));
    expect(events[1]?.data).toMatchObject({
      changes: { revision: { before: 1, after: 2 }, description: { before: null, after: 'new' }, disabled: { before: false, after: true } },
    });
    expect(events[1]?.type === 'FlowUpdated' && events[1].data.changes.tasks).toBeUndefined();
  });

  it('compares expectedRevision with the flow revision, not with the number of events', () => {
    const { state } = run(create(source('one')), update(source('two')), remove, create(source('three')));
    // Four events, three saves.
    expect(revisionOf(state)).toBe(3);
    expect(
      run(create(source('one')), update(source('two')), remove, create(source('three')), update(source('four'), 3)).events.at(-1),
    ).toMatchObject({
      type: 'FlowUpdated',
      data: { revision: 4 },
    });
    expect(() => flowDecider.decide(update(source('four'), 4), state)).toThrow(
      expect.objectContaining({ code: 'CONFLICT', extensions: { actualRevision: 3 } }) as Error,
    );
  });

  it('refuses a second create, and changes to a missing or deleted flow', () => {
    const { state } = run(create(source('one')));
    expect(() => flowDecider.decide(create(source('two')), state)).toThrow(expect.objectContaining({ code: 'CONFLICT' }) as Error);
    const deleted = run(create(source('one')), remove).state;
    for (const command of [update(source('two')), withSaved(restore(1), run(create(source('one'))).events), remove]) {
      expect(() => flowDecider.decide(command, deleted)).toThrow(expect.objectContaining({ code: 'NOT_FOUND' }) as Error);
      expect(() => flowDecider.decide(command, flowDecider.initialState())).toThrow(
        expect.objectContaining({ code: 'NOT_FOUND' }) as Error,
      );
    }
    expect(() => flowDecider.decide(restore(7), state)).toThrow(expect.objectContaining({ code: 'NOT_FOUND' }) as Error);
  });

  it('refuses an update whose source renames the flow or moves it', () => {
    const { state } = run(create(source('one')));
    const moved = source('one').replace('company.team', 'company.other');
    expect(() => flowDecider.decide(update(moved), state)).toThrow(
      expect.objectContaining({ code: 'BAD_USER_INPUT', extensions: { field: 'source', path: 'namespace' } }) as Error,
    );
    const renamed = source('one').replace('id: hello', 'id: bye');
    expect(() => flowDecider.decide(update(renamed), state)).toThrow(
      expect.objectContaining({ extensions: { field: 'source', path: 'id' } }) as Error,
    );
  });

  it('re-creates a deleted flow with the next revision, keeping the old revisions restorable', () => {
    const { events, state } = run(create(source('one')), remove, create(source('two')), restore(1));
    expect(events.map((e) => [e.type, e.data.revision])).toEqual([
      ['FlowCreated', 1],
      ['FlowDeleted', 1],
      ['FlowCreated', 2],
      ['FlowUpdated', 3],
    ]);
    expect(state.status === 'active' && state.current.source).toBe(source('one'));
  });
});

describe('flow projections', () => {
  function recorded(events: FlowEvent[]): RecordedEvent[] {
    return events.map((event, i) => ({
      id: `e${i}`,
      type: event.type,
      schemaVersion: 1,
      data: event.data,
      metadata: {
        tenantId: 'acme',
        namespace: event.namespace,
        actor: { type: 'USER', id: `user${i}` },
        correlationId: 'x',
        commandId: `c${i}`,
        occurredAt: `2026-01-0${i + 1}T00:00:00.000Z`,
      },
      streamName: 'acme/flow/company.team/hello',
      streamRevision: i,
      position: i + 1,
    }));
  }

  it('keep the current flow, and every revision with its source, author and time; applying the same events twice changes nothing', async () => {
    const store = new MemoryDocumentStore();
    const target = (projection: typeof flowsProjection): ProjectionTarget => ({
      store,
      collection: (name) => store.collection(`${name}_v${projection.version}`),
    });
    const events = recorded(run(create(source('one')), update(source('two')), restore(1), remove).events);
    for (const projection of [flowsProjection, flowRevisionsProjection]) {
      await projection.apply(events, target(projection));
    }
    const snapshot = async () => ({
      flows: await store.collection(`${FLOWS}_v${flowsProjection.version}`).find({}),
      revisions: await store.collection(`${FLOW_REVISIONS}_v${flowRevisionsProjection.version}`).find({}, { sort: { revision: 1 } }),
    });
    const first = await snapshot();
    expect(first.flows).toEqual([
      expect.objectContaining({
        _id: 'acme/company.team/hello',
        revision: 3,
        deleted: true,
        updatedBy: 'user3',
      }),
    ]);
    // The flow's document does not grow with its history: the list of revisions is the revisions read model.
    expect(first.flows[0]).not.toHaveProperty('revisions');
    // Nor does it copy the current source (v3): revision 3's document below holds it.
    expect(first.flows[0]).not.toHaveProperty('source');
    expect(first.revisions.map((r) => [r['revision'], r['source'], r['updatedAt'], r['updatedBy'], r['restoredFrom']])).toEqual([
      [1, source('one'), '2026-01-01T00:00:00.000Z', 'user0', null],
      [2, source('two'), '2026-01-02T00:00:00.000Z', 'user1', null],
      [3, source('one'), '2026-01-03T00:00:00.000Z', 'user2', 1],
    ]);
    for (const projection of [flowsProjection, flowRevisionsProjection]) {
      await projection.apply(events, target(projection));
    }
    expect(await snapshot()).toEqual(first);
  });
});
