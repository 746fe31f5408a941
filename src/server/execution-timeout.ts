/**
 * A deadline for query operations. graphql-js 16 cannot abort an execution,
 * so the deadline is enforced in two ways:
 *
 * - at each resolver: once it has passed, a resolver is not started, and one
 *   still running stops being waited for. The response then comes at the
 *   deadline with QUERY_TOO_COMPLEX (`reason: EXECUTION_TIMEOUT`) and
 *   whatever data had resolved;
 * - in the work itself: the request's `caller.signal` is aborted at the
 *   deadline with that same error, so long application work that runs
 *   through `caller.slicer()` stops at its next `tick()` instead of going on
 *   for nobody.
 *
 * Mutations are never cut: a command cannot be cancelled once sent, so
 * answering "timed out" could hide a write that commits anyway. They are
 * bounded by the read-your-writes wait instead. Subscriptions are not timed
 * either. The operations of a batched request each get their own deadline
 * but share one caller: its signal is the deadline of its oldest running
 * query, and while a mutation of the batch runs it never aborts, so that no
 * slice of the mutation's work can be cut (the queries are then still
 * answered at their deadline, only no longer stopped).
 */
import type { ApolloServerPlugin } from '@apollo/server';
import { OperationTypeNode, type GraphQLFieldResolver, type GraphQLSchema, isObjectType } from 'graphql';
import { tooComplex } from '../schema/query-limits.js';
import { noDeadline } from '../shared/slices.js';

/** What the plugin needs of a context: the caller whose signal carries the deadline. */
export interface DeadlineContext {
  caller: { signal: AbortSignal };
}

interface Deadline {
  expired: boolean;
  /** Rejects when the deadline passes. */
  reached: Promise<never>;
  /** Set when the deadline passes (an Error captures a stack trace: not worth building for every query). */
  error: Error | undefined;
  /** Aborted when the deadline passes, with `error` as its reason. */
  signal: AbortSignal;
  stop(): void;
}

/** The running query's deadline, by its context object (Apollo gives every operation, even one of a batch, its own copy). */
const deadlines = new WeakMap<object, Deadline>();

/** The operations running for one caller: a batch's operations have their own contexts, but share the caller. */
interface CallerOperations {
  /** Deadlines of the running queries, oldest first. */
  queries: Deadline[];
  /** Mutations and subscriptions running. */
  others: number;
}

const callers = new WeakMap<object, CallerOperations>();
const GUARDED = Symbol('tenantry.deadlineGuard');

function startDeadline(timeoutMs: number): Deadline {
  let timer: NodeJS.Timeout | undefined;
  const controller = new AbortController();
  const deadline: Deadline = {
    expired: false,
    error: undefined,
    signal: controller.signal,
    reached: new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => {
        deadline.error = tooComplex('EXECUTION_TIMEOUT', timeoutMs, `query did not finish within the execution timeout of ${timeoutMs} ms`);
        deadline.expired = true;
        controller.abort(deadline.error);
        reject(deadline.error);
      }, timeoutMs);
      timer.unref();
    }),
    stop: () => clearTimeout(timer),
  };
  deadline.reached.catch(() => undefined); // nobody may be racing it when it fires
  return deadline;
}

const isPromise = (value: unknown): value is Promise<unknown> => typeof (value as { then?: unknown } | null)?.then === 'function';

/**
 * Wraps every resolver the schema defines so that it honours the deadline of
 * its operation, if any. The schema is changed in place (as Apollo Server's
 * own resolver instrumentation does) and only once; a resolver of an
 * operation without a deadline (mutations, subscriptions) runs untouched.
 */
export function guardResolvers(schema: GraphQLSchema): void {
  for (const type of Object.values(schema.getTypeMap())) {
    if (!isObjectType(type) || type.name.startsWith('__')) continue;
    for (const field of Object.values(type.getFields())) {
      const resolve = field.resolve;
      if (!resolve || (resolve as { [GUARDED]?: true })[GUARDED]) continue;
      const guarded: GraphQLFieldResolver<unknown, unknown> & { [GUARDED]?: true } = (source, args, context, info) => {
        const deadline = typeof context === 'object' && context !== null ? deadlines.get(context) : undefined;
        if (!deadline) return resolve(source, args, context, info);
        if (deadline.expired) throw deadline.error!;
        const result = resolve(source, args, context, info);
        return isPromise(result) ? Promise.race([result, deadline.reached]) : result;
      };
      guarded[GUARDED] = true;
      field.resolve = guarded;
    }
  }
}

/**
 * The caller's signal: the deadline of its oldest running query, or none
 * while a mutation or subscription runs for it too (a batch). Once its last
 * query ended past the deadline it stays aborted: the answer is sent, but
 * work for it may still be running.
 */
function applySignal(caller: DeadlineContext['caller'], operations: CallerOperations, ended?: Deadline): void {
  const [oldest] = operations.queries;
  if (operations.others > 0) caller.signal = noDeadline();
  else if (oldest) caller.signal = oldest.signal;
  else if (!ended?.expired) caller.signal = noDeadline();
}

const isTimeout = (error: { extensions?: Record<string, unknown> }): boolean => error.extensions?.['reason'] === 'EXECUTION_TIMEOUT';

/** Starts a deadline for query operations; one timeout error per response, not one per unresolved field. */
export function executionTimeoutPlugin<Context extends DeadlineContext>(timeoutMs: number): ApolloServerPlugin<Context> {
  return {
    requestDidStart() {
      return Promise.resolve({
        executionDidStart({ operation, contextValue }) {
          if (timeoutMs <= 0) return Promise.resolve();
          const caller = contextValue.caller;
          let operations = callers.get(caller);
          if (!operations) {
            operations = { queries: [], others: 0 };
            callers.set(caller, operations);
          }
          const running = operations;
          const deadline = operation.operation === OperationTypeNode.QUERY ? startDeadline(timeoutMs) : null;
          if (deadline) {
            deadlines.set(contextValue, deadline);
            running.queries.push(deadline);
          } else {
            running.others++;
          }
          applySignal(caller, running);
          return Promise.resolve({
            executionDidEnd() {
              if (deadline) {
                deadline.stop();
                running.queries = running.queries.filter((d) => d !== deadline);
              } else {
                running.others--;
              }
              applySignal(caller, running, deadline ?? undefined);
              return Promise.resolve();
            },
          });
        },
        willSendResponse({ response }) {
          if (response.body.kind !== 'single') return Promise.resolve();
          const result = response.body.singleResult;
          const first = result.errors?.find(isTimeout);
          if (first && result.errors) result.errors = [...result.errors.filter((e) => !isTimeout(e)), first];
          return Promise.resolve();
        },
      });
    },
  };
}
