import { AsyncLocalStorage } from 'node:async_hooks';

/**
 * Who a read-model operation is for, so that a store under more demand than
 * it can serve knows what it may refuse, and whose turn it is.
 *
 * - `request`: a client is waiting and can be told to retry (the GraphQL
 *   routes run their resolvers in this lane). Its reads may be refused with
 *   DocumentStoreOverloadedError when the store's queue is full, and they
 *   take turns by tenant, so that one tenant's many reads cannot hold the
 *   store for the others.
 * - `background` (the default, outside any request): projections, jobs,
 *   checkpoints. Never refused, and served first: a backlog of projection
 *   writes that waits behind an endless stream of request reads never drains.
 */
export type Lane = 'request' | 'background';

interface LaneState {
  lane: Lane;
  /** The tenant a request is for ('' until known); null in the background. */
  tenant: string | null;
}

const lanes = new AsyncLocalStorage<LaneState>();

/** Runs `fn`, and every operation it starts (awaited or not), in the request lane, on behalf of `tenant` ('' when not known yet). */
export function inRequestLane<T>(fn: () => T, tenant = ''): T {
  return lanes.run({ lane: 'request', tenant }, fn);
}

/** Runs `fn` in the background lane, even inside a request (work a request starts but does not wait for). */
export function inBackgroundLane<T>(fn: () => T): T {
  return lanes.run({ lane: 'background', tenant: null }, fn);
}

/** Names the tenant of the calling request once it is known (after authentication); nothing outside a request. */
export function setRequestTenant(tenant: string): void {
  const state = lanes.getStore();
  if (state?.lane === 'request') state.tenant = tenant;
}

/** The tenant of the calling request ('' when not known yet), or null outside a request. */
export function currentTenant(): string | null {
  const state = lanes.getStore();
  return state?.lane === 'request' ? (state.tenant ?? '') : null;
}
