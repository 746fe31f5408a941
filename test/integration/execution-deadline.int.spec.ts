/**
 * The execution deadline really stops work: a resolver's loop that runs
 * through `caller.slicer()` ends with EXECUTION_TIMEOUT at its next tick
 * after the deadline, instead of going on after the answer was sent.
 * Mutations keep no deadline, also when batched with a query (Apollo gives
 * each operation of a batch its own copy of the context, but one caller).
 * Nothing here depends on how fast the machine is: the loops count their
 * iterations and end on events, not after a given time.
 */
import { ApolloServer } from '@apollo/server';
import { GraphQLInt, GraphQLObjectType, GraphQLSchema } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Caller } from '../../src/application/caller.js';
import type { Authorizer } from '../../src/auth/authorizer.js';
import { formatError } from '../../src/schema/errors.js';
import { executionTimeoutPlugin, guardResolvers } from '../../src/server/execution-timeout.js';
import { DomainError } from '../../src/shared/errors.js';

const TIMEOUT_MS = 200;

interface Context {
  caller: Caller;
}

/** One loop of work on behalf of a request: counts its iterations and how it ended. */
class Loop {
  iterations = 0;
  ended: Promise<unknown>;
  started: Promise<void>;
  private markStarted!: () => void;
  private markEnded!: (how: unknown) => void;

  constructor() {
    this.started = new Promise((resolve) => (this.markStarted = resolve));
    this.ended = new Promise((resolve) => (this.markEnded = resolve));
  }

  /** Ticks (1 ms slices) until `done()` says so; throws what the slicer throws. */
  async run(caller: Caller, done: () => boolean): Promise<number> {
    const slicer = caller.slicer(1);
    this.markStarted();
    try {
      while (!done()) {
        this.iterations++;
        await slicer.tick();
      }
      this.markEnded('finished');
      return this.iterations;
    } catch (error) {
      this.markEnded(error);
      throw error;
    }
  }
}

let queryLoop: Loop;
let queryDone: () => boolean;
let mutationLoop: Loop;
let mutationDone: () => boolean;

const schema = new GraphQLSchema({
  query: new GraphQLObjectType<unknown, Context>({
    name: 'Query',
    fields: { spin: { type: GraphQLInt, resolve: (_source, _args, ctx) => queryLoop.run(ctx.caller, queryDone) } },
  }),
  mutation: new GraphQLObjectType<unknown, Context>({
    name: 'Mutation',
    fields: { spin: { type: GraphQLInt, resolve: (_source, _args, ctx) => mutationLoop.run(ctx.caller, mutationDone) } },
  }),
});
guardResolvers(schema);

const server = new ApolloServer<Context>({ schema, plugins: [executionTimeoutPlugin<Context>(TIMEOUT_MS)], formatError });
const newCaller = () => new Caller({ type: 'SYSTEM', id: 'test', via: 'local' }, {} as Authorizer);

async function run(query: string, contextValue: Context) {
  const response = await server.executeOperation({ query }, { contextValue });
  if (response.body.kind !== 'single') throw new Error('expected a single result');
  return response.body.singleResult;
}

/** A few turns of the event loop, timers included. */
async function turns(n: number): Promise<void> {
  for (let i = 0; i < n; i++) await new Promise((resolve) => setTimeout(resolve, 1));
}

describe('execution deadline: caller.signal is aborted, slicer loops stop', () => {
  beforeAll(() => server.start());
  afterAll(() => server.stop());

  it('a query whose loop would never end answers EXECUTION_TIMEOUT, and the loop provably stopped at the deadline', async () => {
    queryLoop = new Loop();
    queryDone = () => false; // only the deadline ends it
    const caller = newCaller();
    const result = await run('{ spin }', { caller });

    expect(result.errors).toHaveLength(1);
    expect(result.errors?.[0]?.extensions).toMatchObject({ code: 'QUERY_TOO_COMPLEX', reason: 'EXECUTION_TIMEOUT', limit: TIMEOUT_MS });
    // The loop ended by the slicer's throw of the deadline's own error, not by the response being sent.
    const ended = await queryLoop.ended;
    expect(ended).toBeInstanceOf(DomainError);
    expect(ended).toMatchObject({ code: 'QUERY_TOO_COMPLEX', extensions: { reason: 'EXECUTION_TIMEOUT', limit: TIMEOUT_MS } });
    expect(caller.signal.aborted).toBe(true);
    expect(caller.signal.reason).toBe(ended);
    // It had run (many slices), and it runs no more.
    const atStop = queryLoop.iterations;
    expect(atStop).toBeGreaterThan(1);
    await turns(20);
    expect(queryLoop.iterations).toBe(atStop);
  });

  it('a query that finishes in time is not aborted, and its deadline no longer fires', async () => {
    queryLoop = new Loop();
    let n = 0;
    queryDone = () => ++n > 3;
    const caller = newCaller();
    const result = await run('{ spin }', { caller });
    expect(result.errors).toBeUndefined();
    expect(result.data).toEqual({ spin: 3 });
    expect(caller.signal.aborted).toBe(false);
  });

  it('a mutation keeps no deadline: its loop runs on past the time a query would have been cut', async () => {
    mutationLoop = new Loop();
    const started = Date.now();
    // A lower bound on time only: the loop must outlive the deadline, however slow the machine.
    mutationDone = () => Date.now() - started > 2 * TIMEOUT_MS;
    const caller = newCaller();
    const result = await run('mutation { spin }', { caller });
    expect(result.errors).toBeUndefined();
    expect(await mutationLoop.ended).toBe('finished');
    expect(caller.signal.aborted).toBe(false);
  });

  it('batched (one caller for both operations): the query is cut, the mutation that runs meanwhile is not', async () => {
    const context: Context = { caller: newCaller() };
    queryLoop = new Loop();
    queryDone = () => false;
    const query = run('{ spin }', context);
    await queryLoop.started;

    mutationLoop = new Loop();
    let queryEnded = false;
    void queryLoop.ended.then(() => (queryEnded = true));
    let after = 0;
    // Runs until the query's loop was stopped by the deadline, and some more.
    mutationDone = () => queryEnded && ++after > 20;
    const mutation = run('mutation { spin }', context);

    const [queryResult, mutationResult] = await Promise.all([query, mutation]);
    expect(queryResult.errors?.[0]?.extensions).toMatchObject({ code: 'QUERY_TOO_COMPLEX', reason: 'EXECUTION_TIMEOUT' });
    expect(await queryLoop.ended).toBeInstanceOf(DomainError);
    expect(mutationResult.errors).toBeUndefined();
    expect(await mutationLoop.ended).toBe('finished');
    expect(mutationResult.data).toEqual({ spin: mutationLoop.iterations });
  });
});
