/**
 * A deadline for query operations. graphql-js 16 cannot abort an execution,
 * so the deadline is enforced at each resolver: once it has passed, a
 * resolver is not started, and one still running stops being waited for.
 * The response then comes at the deadline with QUERY_TOO_COMPLEX
 * (`reason: EXECUTION_TIMEOUT`) and whatever data had resolved.
 *
 * Mutations are never cut: a command cannot be cancelled once sent, so
 * answering "timed out" could hide a write that commits anyway. They are
 * bounded by the read-your-writes wait instead.
 */
import type { ApolloServerPlugin } from '@apollo/server';
import { OperationTypeNode, type GraphQLFieldResolver, type GraphQLSchema, isObjectType } from 'graphql';
import { tooComplex } from '../schema/query-limits.js';

interface Deadline {
  expired: boolean;
  /** Rejects when the deadline passes. */
  reached: Promise<never>;
  /** Set when the deadline passes (an Error captures a stack trace: not worth building for every query). */
  error: Error | undefined;
  stop(): void;
}

/** The running query's deadline, by its context object (shared by every resolver of one operation). */
const deadlines = new WeakMap<object, Deadline>();
const GUARDED = Symbol('tenantry.deadlineGuard');

function startDeadline(timeoutMs: number): Deadline {
  let timer: NodeJS.Timeout | undefined;
  const deadline: Deadline = {
    expired: false,
    error: undefined,
    reached: new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => {
        deadline.error = tooComplex('EXECUTION_TIMEOUT', timeoutMs, `query did not finish within the execution timeout of ${timeoutMs} ms`);
        deadline.expired = true;
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
 * own resolver instrumentation does) and only once; a resolver without a
 * deadline in its context (mutations, subscriptions) runs untouched.
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

const isTimeout = (error: { extensions?: Record<string, unknown> }): boolean => error.extensions?.['reason'] === 'EXECUTION_TIMEOUT';

/** Starts a deadline for each query operation; one timeout error per response, not one per unresolved field. */
export function executionTimeoutPlugin<Context extends object>(timeoutMs: number): ApolloServerPlugin<Context> {
  return {
    requestDidStart() {
      return Promise.resolve({
        executionDidStart({ operation, contextValue }) {
          if (timeoutMs <= 0 || operation.operation !== OperationTypeNode.QUERY) return Promise.resolve();
          const deadline = startDeadline(timeoutMs);
          deadlines.set(contextValue, deadline);
          return Promise.resolve({
            executionDidEnd() {
              deadline.stop();
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
