import { AsyncLocalStorage } from 'node:async_hooks';

/**
 * Who a read-model operation is for, so that a store under more demand than
 * it can serve knows what it may refuse.
 *
 * - `request`: a client is waiting and can be told to retry (the GraphQL
 *   routes run their resolvers in this lane). Its reads may be refused with
 *   DocumentStoreOverloadedError when the store's queue is full.
 * - `background` (the default, outside any request): projections, jobs,
 *   checkpoints. Never refused, and served first: a backlog of projection
 *   writes that waits behind an endless stream of request reads never drains.
 */
export type Lane = 'request' | 'background';

const lanes = new AsyncLocalStorage<Lane>();

/** Runs `fn`, and every operation it starts (awaited or not), in the request lane. */
export function inRequestLane<T>(fn: () => T): T {
  return lanes.run('request', fn);
}

/** Runs `fn` in the background lane, even inside a request (work a request starts but does not wait for). */
export function inBackgroundLane<T>(fn: () => T): T {
  return lanes.run('background', fn);
}

/** The lane of the calling async context. */
export function currentLane(): Lane {
  return lanes.getStore() ?? 'background';
}
