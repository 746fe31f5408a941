import { diff, type Changes, type Command, type Decider, type DomainEvent } from '../decider.js';
import { assertNever, badInput, conflict, notFound } from '../../shared/errors.js';
import { jsonEqual } from '../../shared/json.js';
import type { FlowDefinition, FlowSummary } from './flow-source.js';

/**
 * A flow's revision counts saves, as in Kestra: 1 on create, +1 on every
 * update or restore that changes the source. A delete is an event but not a
 * save, and a re-create after a delete continues the count, so that every
 * revision number ever shown stays unique and readable.
 */
export interface FlowSnapshot extends FlowSummary {
  revision: number;
  source: string;
}

/** What FlowUpdated reports as before/after for the audit log: the source itself is in the event, not in `changes`. */
export type FlowChanges = Changes<FlowSummary & { revision: number }>;

export type FlowCommand =
  | Command<'CreateFlow', { definition: FlowDefinition }>
  | Command<'UpdateFlow', { namespace: string; id: string; definition: FlowDefinition; expectedRevision?: number | null }>
  | Command<
      'RestoreFlowRevision',
      {
        namespace: string;
        id: string;
        revision: number;
        /**
         * That revision's content, as the application found it in the flow's
         * own stream (null when no save of it exists). The state does not
         * keep old revisions: it would grow with every save.
         */
        saved: FlowSnapshot | null;
        /** The flow revision the client read (a save counter, as for UpdateFlow). */
        expectedRevision?: number | null;
      }
    >
  | Command<'DeleteFlow', { namespace: string; id: string; expectedRevision?: number | null }>
  /** Brings a deleted flow back with the source it had when deleted, as a new revision. */
  | Command<'RestoreDeletedFlow', { namespace: string; id: string; expectedRevision?: number | null }>;

export type FlowCreatedData = {
  namespace: string;
  id: string;
  revision: number;
  source: string;
  /** Set when a deleted flow was restored: the revision (last save) it had when deleted. */
  restoredFrom?: number;
} & FlowSummary;
/** Carries the whole new summary (not only `changes`), so that every save event describes its revision on its own. */
export interface FlowUpdatedData extends FlowSummary {
  namespace: string;
  id: string;
  revision: number;
  source: string;
  /** Set when the save restored an older revision's source. */
  restoredFrom?: number;
  changes: FlowChanges;
}
export interface FlowDeletedData {
  namespace: string;
  id: string;
  /** The revision (last save) the flow had when deleted. */
  revision: number;
}

export type FlowEvent =
  DomainEvent<'FlowCreated', FlowCreatedData> | DomainEvent<'FlowUpdated', FlowUpdatedData> | DomainEvent<'FlowDeleted', FlowDeletedData>;

/**
 * Only the current revision: the state's size does not grow with the flow's
 * history (old revisions are read from the log when a restore needs one).
 */
export interface ExistingFlow {
  status: 'active' | 'deleted';
  namespace: string;
  id: string;
  current: FlowSnapshot;
}
type ActiveFlow = ExistingFlow & { status: 'active' };

export type FlowState = { status: 'absent' } | ExistingFlow;

export const summaryOf = (s: FlowSummary): FlowSummary => ({ description: s.description, disabled: s.disabled, tasks: s.tasks });
export const snapshotOf = (data: FlowSnapshot): FlowSnapshot => ({ revision: data.revision, source: data.source, ...summaryOf(data) });

function updated(state: ActiveFlow, next: FlowSummary & { source: string }, restoredFrom?: number): FlowEvent[] {
  const { current, namespace, id } = state;
  if (next.source === current.source) return [];
  const revision = current.revision + 1;
  const changes: FlowChanges = {
    revision: { before: current.revision, after: revision },
    ...diff<FlowSummary>(summaryOf(current), summaryOf(next), jsonEqual),
  };
  const data: FlowUpdatedData = {
    namespace,
    id,
    revision,
    source: next.source,
    ...summaryOf(next),
    ...(restoredFrom === undefined ? {} : { restoredFrom }),
    changes,
  };
  return [{ type: 'FlowUpdated', data, namespace }];
}

function requireActive(state: FlowState, namespace: string, id: string): ActiveFlow {
  if (state.status !== 'active') throw notFound(`flow ${namespace}.${id}`);
  return { ...state, status: 'active' };
}

/** expectedRevision of a flow is its revision (a save counter): CONFLICT with the actual one when it differs. */
function requireRevision(namespace: string, id: string, actual: number, expected: number | null | undefined): void {
  if (expected !== undefined && expected !== null && expected !== actual) {
    throw conflict(`flow ${namespace}.${id} is at revision ${actual}, not ${expected}`, actual);
  }
}

export const flowDecider: Decider<FlowCommand, FlowEvent, FlowState> = {
  name: 'flow',
  // v2: the state no longer carries every revision (history).
  stateVersion: 2,
  weight: (state) => (state.status === 'absent' ? 64 : 256 + 2 * state.current.source.length + 64 * state.current.tasks.length),
  initialState: () => ({ status: 'absent' }),

  evolve(state, event) {
    switch (event.type) {
      case 'FlowCreated': {
        const { namespace, id } = event.data;
        return { status: 'active', namespace, id, current: snapshotOf(event.data) };
      }
      case 'FlowUpdated':
        return state.status === 'absent' ? state : { ...state, current: snapshotOf(event.data) };
      case 'FlowDeleted':
        return state.status === 'absent' ? state : { ...state, status: 'deleted' };
      default:
        return assertNever(event);
    }
  },

  decide(command, state) {
    switch (command.type) {
      case 'CreateFlow': {
        const { namespace, id, source } = command.data.definition;
        if (state.status === 'active') throw conflict(`flow ${namespace}.${id} already exists`);
        const revision = state.status === 'deleted' ? state.current.revision + 1 : 1;
        return [{ type: 'FlowCreated', data: { namespace, id, revision, source, ...summaryOf(command.data.definition) }, namespace }];
      }
      case 'UpdateFlow': {
        const { namespace, id, definition, expectedRevision } = command.data;
        const active = requireActive(state, namespace, id);
        for (const field of ['namespace', 'id'] as const) {
          if (definition[field] !== active[field]) {
            throw badInput(
              'source',
              `the source's ${field} ${JSON.stringify(definition[field])} differs from the flow's (${JSON.stringify(active[field])}); create a new flow instead`,
              { path: field },
            );
          }
        }
        // The client's revision counts saves (the flow revision), not stream events: compare it here.
        requireRevision(namespace, id, active.current.revision, expectedRevision);
        return updated(active, definition);
      }
      case 'RestoreFlowRevision': {
        const { namespace, id, revision, saved } = command.data;
        const active = requireActive(state, namespace, id);
        requireRevision(namespace, id, active.current.revision, command.data.expectedRevision);
        if (!saved || saved.revision !== revision || revision > active.current.revision) {
          throw notFound(`revision ${revision} of flow ${namespace}.${id}`);
        }
        return updated(active, saved, revision);
      }
      case 'RestoreDeletedFlow': {
        const { namespace, id, expectedRevision } = command.data;
        if (state.status === 'absent') throw notFound(`flow ${namespace}.${id}`);
        if (state.status === 'active') throw conflict(`flow ${namespace}.${id} is not deleted`, state.current.revision);
        requireRevision(namespace, id, state.current.revision, expectedRevision);
        const { current } = state;
        const data = {
          namespace,
          id,
          revision: current.revision + 1,
          source: current.source,
          ...summaryOf(current),
          restoredFrom: current.revision,
        };
        return [{ type: 'FlowCreated', data, namespace }];
      }
      case 'DeleteFlow': {
        const { namespace, id } = command.data;
        const active = requireActive(state, namespace, id);
        requireRevision(namespace, id, active.current.revision, command.data.expectedRevision);
        return [{ type: 'FlowDeleted', data: { namespace, id, revision: active.current.revision }, namespace }];
      }
      default:
        return assertNever(command);
    }
  },
};
