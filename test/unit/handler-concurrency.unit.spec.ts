import { describe, expect, it } from 'vitest';
import { namespaceDecider } from '../../src/aggregates/namespace/namespace.js';
import type { CommandMetadata } from '../../src/aggregates/decider.js';
import { CommandHandler } from '../../src/commands/handler.js';
import { MemoryEventStore } from '../../src/eventstore/memory.js';
import { UpcasterRegistry } from '../../src/events/upcasting.js';
import { DomainError, ErrorCode } from '../../src/shared/errors.js';

const meta = (commandId: string): CommandMetadata => ({
  commandId,
  tenantId: 'acme',
  actor: { type: 'USER', id: 'alice' },
  now: '2026-01-01T00:00:00.000Z',
  correlationId: `corr-${commandId}`,
});
const stream = 'acme/namespace/company';
const create = { type: 'CreateNamespace' as const, data: { id: 'company', description: null }, metadata: meta('create') };
const update = (n: number) => ({
  type: 'UpdateNamespace' as const,
  data: { id: 'company', patch: { variables: { [`v${n}`]: n } } },
  metadata: meta(`update-${n}`),
});

describe('concurrent updates without expectedRevision (real MemoryEventStore)', () => {
  it('200 writers at once on one aggregate in one process: none conflicts (not even an append retried), each is written once', async () => {
    const store = new MemoryEventStore();
    const handler = new CommandHandler(store, new UpcasterRegistry());
    let conflicts = 0;
    handler.appendObserver = (_seconds, outcome) => void (outcome === 'conflict' && conflicts++);
    await handler.handle(namespaceDecider, stream, create);
    const outcomes = await Promise.allSettled(Array.from({ length: 200 }, (_, n) => handler.handle(namespaceDecider, stream, update(n))));
    expect(outcomes.filter((o) => o.status === 'rejected')).toEqual([]);
    // Queued one after another in the process: not even a retried append.
    expect(conflicts).toBe(0);
    expect(await store.readStream(stream)).toHaveLength(201);
  });

  it('two handlers over one log (as two processes), 100 writers each: none fails with CONFLICT, each is written once', async () => {
    const store = new MemoryEventStore();
    const [a, b] = [new CommandHandler(store, new UpcasterRegistry()), new CommandHandler(store, new UpcasterRegistry())];
    await a.handle(namespaceDecider, stream, create);
    const outcomes = await Promise.allSettled(
      Array.from({ length: 200 }, (_, n) => (n % 2 === 0 ? a : b).handle(namespaceDecider, stream, update(n))),
    );
    expect(outcomes.filter((o) => o.status === 'rejected')).toEqual([]);
    expect(await store.readStream(stream)).toHaveLength(201);
  });

  it('another process writing to the stream eight times in a row between our read and our append: retried until it goes through', async () => {
    // A real log whose appends let a rival handler (another process) write first, eight times.
    class RivalledStore extends MemoryEventStore {
      rivalWrites = 8;
      private inRival = false;
      rival: (() => Promise<unknown>) | null = null;
      override async appendToStream(...args: Parameters<MemoryEventStore['appendToStream']>) {
        if (this.rival && !this.inRival && this.rivalWrites > 0) {
          this.rivalWrites--;
          this.inRival = true;
          try {
            await this.rival();
          } finally {
            this.inRival = false;
          }
        }
        return super.appendToStream(...args);
      }
    }
    const store = new RivalledStore();
    const ours = new CommandHandler(store, new UpcasterRegistry());
    const theirs = new CommandHandler(store, new UpcasterRegistry());
    await theirs.handle(namespaceDecider, stream, create);
    let n = 100;
    store.rival = () => theirs.handle(namespaceDecider, stream, update(n++));
    const result = await ours.handle(namespaceDecider, stream, update(1));
    expect(store.rivalWrites).toBe(0);
    expect(result.revision).toBe((await store.readStream(stream)).length);
  });

  it('a stale expectedRevision is still CONFLICT at once, queued behind other writers or not', async () => {
    const store = new MemoryEventStore();
    const handler = new CommandHandler(store, new UpcasterRegistry());
    await handler.handle(namespaceDecider, stream, create);
    const [, pinned] = await Promise.allSettled([
      handler.handle(namespaceDecider, stream, update(1)),
      handler.handle(namespaceDecider, stream, update(2), { expectedRevision: 1 }),
    ]);
    expect(pinned.status).toBe('rejected');
    const error = (pinned as PromiseRejectedResult).reason as DomainError;
    expect(error.code).toBe(ErrorCode.CONFLICT);
    expect(error.extensions['actualRevision']).toBe(2);
  });
});
