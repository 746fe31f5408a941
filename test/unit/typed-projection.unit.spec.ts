/**
 * Typed projections: the declared event types decide what `evolve`,
 * `documentId` and `apply` receive (checked by the compiler: `tsc` reads
 * this file), and the runtime hands them only events of those types, even
 * from a batch that holds others.
 */
import { describe, expect, expectTypeOf, it } from 'vitest';
import type { RecordedEvent } from '../../src/eventstore/port.js';
import type { RecordedDomainEvent } from '../../src/events/domain-events.js';
import {
  documentProjection,
  typedProjection,
  type EventOf,
  type ProjectionTarget,
  type ReadModelDocument,
} from '../../src/projections/runtime/projection.js';
import { MemoryDocumentStore } from '../../src/readmodels/memory.js';

interface Seen extends ReadModelDocument {
  types: string[];
}

const TYPES = ['BindingCreated', 'FlowDeleted'] as const;

function recorded(type: string, data: unknown, position: number): RecordedEvent {
  return {
    id: `e${position}`,
    type,
    schemaVersion: 1,
    data,
    metadata: {
      tenantId: 't',
      actor: { type: 'USER', id: 'ann' },
      correlationId: 'c',
      commandId: `c${position}`,
      occurredAt: '2026-01-01T00:00:00.000Z',
    },
    streamName: `t/x/${position}`,
    streamRevision: 0,
    position,
  };
}

const batch = [
  recorded('BindingCreated', { id: 'b1' }, 1),
  recorded('NamespaceCreated', { id: 'n1' }, 2),
  recorded('FlowDeleted', { namespace: 'n1', id: 'f1', revision: 1 }, 3),
  recorded('SomethingUnknown', {}, 4),
];

describe('typed projections', () => {
  it('the declared event types are the union members evolve and documentId receive', () => {
    expectTypeOf<EventOf<typeof TYPES>>().toEqualTypeOf<RecordedDomainEvent<'BindingCreated' | 'FlowDeleted'>>();
    expectTypeOf<EventOf<typeof TYPES>['data']>().toHaveProperty('id');
  });

  it('documentProjection folds only the events of its declared types', async () => {
    const received: string[] = [];
    const projection = documentProjection({
      name: 'seen',
      version: 1,
      collection: 'seen',
      eventTypes: TYPES,
      documentId: (event) => {
        received.push(event.type);
        return event.metadata.tenantId;
      },
      evolve: (doc: Seen | null, event) => {
        // Narrowed by the type alone: no cast.
        const id = event.type === 'FlowDeleted' ? `${event.data.namespace}.${event.data.id}` : event.data.id;
        return { _id: 't', tenantId: 't', _pos: event.position, types: [...(doc?.types ?? []), id] };
      },
    });
    expect([...projection.eventTypes]).toEqual(['BindingCreated', 'FlowDeleted']);
    const store = new MemoryDocumentStore();
    await projection.apply(batch, { store, collection: (name) => store.collection(name) });
    expect(received).toEqual(['BindingCreated', 'FlowDeleted']);
    expect(await store.collection('seen').find({})).toEqual([{ _id: 't', tenantId: 't', _pos: 3, types: ['b1', 'n1.f1'] }]);
  });

  it('typedProjection hands apply the batch itself when every event is of its types, and only those events otherwise', async () => {
    const received: (readonly RecordedEvent[])[] = [];
    const projection = typedProjection({
      name: 'typed',
      version: 1,
      eventTypes: TYPES,
      collections: {},
      apply: async (events) => {
        expectTypeOf(events).toEqualTypeOf<readonly EventOf<typeof TYPES>[]>();
        received.push(events);
        await Promise.resolve();
      },
    });
    const store = new MemoryDocumentStore();
    const target: ProjectionTarget = { store, collection: (name) => store.collection(name) };
    const declaredOnly = [batch[0]!, batch[2]!];
    await projection.apply(declaredOnly, target);
    await projection.apply(batch, target);
    expect(received[0]).toBe(declaredOnly);
    expect(received[1]?.map((e) => e.position)).toEqual([1, 3]);
  });
});
