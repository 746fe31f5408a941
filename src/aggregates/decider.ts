import type { Actor } from '../eventstore/port.js';

/**
 * What every command carries besides its data. Time and actor arrive here so
 * that `decide` stays pure and never reads a clock.
 */
export interface CommandMetadata {
  commandId: string;
  tenantId: string;
  actor: Actor;
  now: string;
  correlationId: string;
  causationId?: string | undefined;
  ip?: string | undefined;
  userAgent?: string | undefined;
  /**
   * The command id was just generated (a random UUID), so no earlier attempt
   * of this command can be stored: the handler skips looking for one. Leave
   * it unset for ids derived from something a client may send again (an
   * Idempotency-Key, a bootstrap step).
   */
  fresh?: boolean | undefined;
}

export interface Command<Type extends string = string, Data = unknown> {
  type: Type;
  data: Data;
  metadata: CommandMetadata;
}

/** A domain event before it is put into an envelope. */
export interface DomainEvent<Type extends string = string, Data = unknown> {
  type: Type;
  data: Data;
  /** Namespace the event is scoped to, for authorization, audit and filtering. */
  namespace?: string | undefined;
}

export interface Decider<C extends Command, E extends DomainEvent, S> {
  /**
   * Names the state's shape for stored snapshots: `name@stateVersion`. Bump
   * `stateVersion` whenever `evolve` or the state's shape changes, so that
   * snapshots of the old shape are never read again. A decider without a
   * name is never snapshotted (its streams are always folded from the start).
   */
  readonly name?: string;
  readonly stateVersion?: number;
  /** Approximate bytes a state holds in memory (the aggregate cache's budget); default 1 KiB. */
  weight?(state: S): number;
  initialState(): S;
  evolve(state: S, event: E): S;
  /** Throws a DomainError when the command is refused; returns [] for a no-op. */
  decide(command: C, state: S): E[];
}

/** A field change as carried by *Updated events: the audit log's before/after comes straight from it. */
export interface Change<T> {
  before: T;
  after: T;
}

export type Changes<T> = { [K in keyof T]?: Change<T[K]> };

/** Keeps only the fields whose value actually differs. */
export function diff<T extends object>(before: T, patch: Partial<T>, equal: (a: unknown, b: unknown) => boolean): Changes<T> {
  const changes: Changes<T> = {};
  for (const key of Object.keys(patch) as (keyof T)[]) {
    const after = patch[key];
    if (after === undefined) continue;
    if (!equal(before[key], after)) changes[key] = { before: before[key], after };
  }
  return changes;
}

export function applyChanges<T extends object>(state: T, changes: Changes<T>): T {
  const next = { ...state };
  for (const key of Object.keys(changes) as (keyof T)[]) {
    const change = changes[key];
    if (change) next[key] = change.after;
  }
  return next;
}
