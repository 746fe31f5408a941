import { describe, expect, it } from 'vitest';
import { namespaceDecider } from '../../src/aggregates/namespace/namespace.js';
import type { CommandMetadata } from '../../src/aggregates/decider.js';
import { CommandHandler, eventIdFor } from '../../src/commands/handler.js';
import { MemoryEventStore } from '../../src/eventstore/memory.js';
import { UpcasterRegistry } from '../../src/events/upcasting.js';
import { DomainError, ErrorCode } from '../../src/shared/errors.js';

const meta = (commandId: string, now = '2026-01-01T00:00:00.000Z'): CommandMetadata => ({
  commandId,
  tenantId: 'acme',
  actor: { type: 'USER', id: 'alice' },
  now,
  correlationId: `corr-${commandId}`,
});

const create = (commandId: string, id = 'company') => ({
  type: 'CreateNamespace' as const,
  data: { id, description: null },
  metadata: meta(commandId),
});

const update = (commandId: string, variables: Record<string, number>) => ({
  type: 'UpdateNamespace' as const,
  data: { id: 'company', patch: { variables } },
  metadata: meta(commandId),
});

describe('CommandHandler (real MemoryEventStore)', () => {
  const stream = 'acme/namespace/company';

  it('appends events with ids derived from the command id and full metadata', async () => {
    const store = new MemoryEventStore();
    const handler = new CommandHandler(store, new UpcasterRegistry());
    const result = await handler.handle(namespaceDecider, stream, create('c1'));
    expect(result.revision).toBe(1);
    const [event] = await store.readStream(stream);
    expect(event?.id).toBe(eventIdFor('c1', 0));
    expect(event?.metadata).toMatchObject({ tenantId: 'acme', namespace: 'company', commandId: 'c1', correlationId: 'corr-c1' });
  });

  it('a retried command is answered as the first time and writes nothing', async () => {
    const store = new MemoryEventStore();
    const handler = new CommandHandler(store, new UpcasterRegistry());
    const first = await handler.handle(namespaceDecider, stream, create('c1'));
    const again = await handler.handle(namespaceDecider, stream, create('c1'));
    expect(again.revision).toBe(first.revision);
    expect(again.position).toBe(first.position);
    expect(await store.headPosition()).toBe(1);
  });

  it('a pinned stale revision is CONFLICT with the actual revision, and nothing is written', async () => {
    const store = new MemoryEventStore();
    const handler = new CommandHandler(store, new UpcasterRegistry());
    await handler.handle(namespaceDecider, stream, create('c1'));
    await handler.handle(namespaceDecider, stream, update('c2', { a: 1 }));
    const error = await handler.handle(namespaceDecider, stream, update('c3', { a: 2 }), { expectedRevision: 1 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DomainError);
    expect((error as DomainError).code).toBe(ErrorCode.CONFLICT);
    expect((error as DomainError).extensions['actualRevision']).toBe(2);
    expect(await store.headPosition()).toBe(2);
  });

  it('concurrent unpinned commands on one aggregate are all applied, none lost (bounded retry)', async () => {
    const store = new MemoryEventStore();
    const handler = new CommandHandler(store, new UpcasterRegistry());
    await handler.handle(namespaceDecider, stream, create('c0'));
    await Promise.all([1, 2, 3, 4, 5].map((n) => handler.handle(namespaceDecider, stream, update(`u${n}`, { [`k${n}`]: n }))));
    const events = await store.readStream(stream);
    expect(events).toHaveLength(6);
    // Every update was decided against the latest state: the before of each is the after of the previous.
    const changes = events.slice(1).map((e) => (e.data as { changes: { variables: { before: object; after: object } } }).changes.variables);
    for (let i = 1; i < changes.length; i++) expect(changes[i]?.before).toEqual(changes[i - 1]?.after);
  });

  it('a refused command writes nothing', async () => {
    const store = new MemoryEventStore();
    const handler = new CommandHandler(store, new UpcasterRegistry());
    await expect(handler.handle(namespaceDecider, stream, create('c1', 'Bad..Id'))).rejects.toMatchObject({ code: 'BAD_USER_INPUT' });
    expect(await store.headPosition()).toBe(0);
  });

  it('authorize sees the folded state and can refuse before anything is decided', async () => {
    const store = new MemoryEventStore();
    const handler = new CommandHandler(store, new UpcasterRegistry());
    await expect(
      handler.handle(namespaceDecider, stream, create('c1'), {
        authorize: (state) => {
          expect(state.status).toBe('absent');
          throw new DomainError(ErrorCode.FORBIDDEN, 'no');
        },
      }),
    ).rejects.toMatchObject({ code: 'FORBIDDEN' });
    expect(await store.headPosition()).toBe(0);
  });

  it('loadAsOf folds only events up to a time (time travel)', async () => {
    const store = new MemoryEventStore();
    const handler = new CommandHandler(store, new UpcasterRegistry());
    await handler.handle(namespaceDecider, stream, create('c1'));
    await handler.handle(namespaceDecider, stream, { ...update('c2', { a: 1 }), metadata: meta('c2', '2026-01-02T00:00:00.000Z') });
    await handler.handle(namespaceDecider, stream, { ...update('c3', { a: 2 }), metadata: meta('c3', '2026-01-03T00:00:00.000Z') });
    const { state } = await handler.loadAsOf(namespaceDecider, stream, '2026-01-02T12:00:00.000Z');
    expect(state.status === 'active' && state.variables).toEqual({ a: 1 });
  });
});

describe('upcasting', () => {
  it('reads a version-1 event as version 2 through the registered upcaster', async () => {
    const store = new MemoryEventStore();
    const registry = new UpcasterRegistry().register('NamespaceCreated', 1, (data) => ({ ...(data as object), description: 'from v1' }));
    await store.appendToStream(
      'acme/namespace/x',
      [
        {
          id: eventIdFor('old', 0),
          type: 'NamespaceCreated',
          schemaVersion: 1,
          data: { id: 'x', description: null },
          metadata: { ...meta('old'), occurredAt: '2026-01-01T00:00:00.000Z' },
        },
      ],
      { expectedRevision: 'no_stream' },
    );
    const handler = new CommandHandler(store, registry);
    const { state } = await handler.load(namespaceDecider, 'acme/namespace/x');
    expect(state.status === 'active' && state.description).toBe('from v1');
    expect(registry.currentVersion('NamespaceCreated')).toBe(2);
  });
});

describe('derived ids', () => {
  it('are exactly uuid v5 of the command id and index or purpose (ids already in logs must not change)', async () => {
    const { v5 } = await import('uuid');
    const { derivedId } = await import('../../src/commands/handler.js');
    const namespace = '4f1c3a52-8f0e-4d7b-9b7a-6d1c2e3f4a5b';
    for (const command of ['c1', 'f2d3a0b4-5c6d-4e7f-8a9b-0c1d2e3f4a5b', 'é\u{1F600}', '']) {
      for (const index of [0, 1, 17]) expect(eventIdFor(command, index)).toBe(v5(`${command}/${index}`, namespace));
      expect(derivedId(command, 'binding')).toBe(v5(`${command}#binding`, namespace));
    }
    expect(eventIdFor('c1', 0)).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });
});
