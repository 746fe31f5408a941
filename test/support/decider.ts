/**
 * Fixtures for decider tests: command metadata, a run of commands, and a
 * given/when/then specification (events so far, a command, the events it
 * decides or the error it throws), the way event-sourced deciders are
 * usually specified.
 */
import { expect } from 'vitest';
import type { Command, CommandMetadata, Decider, DomainEvent } from '../../src/aggregates/decider.js';

/** Metadata of a command in a test: tenant `acme`, a fixed time; override what the test is about. */
export function commandMetadata(overrides: Partial<CommandMetadata> = {}): CommandMetadata {
  return {
    commandId: 'c',
    tenantId: 'acme',
    actor: { type: 'SYSTEM', id: 't' },
    now: '2026-01-01T00:00:00Z',
    correlationId: 'x',
    ...overrides,
  };
}

/** Decides the commands in order, each against the state the previous ones left; returns every event and the final state. */
export function runDecider<C extends Command, E extends DomainEvent, S>(
  decider: Decider<C, E, S>,
  ...commands: C[]
): { events: E[]; state: S } {
  let state = decider.initialState();
  const events: E[] = [];
  for (const command of commands) {
    for (const event of decider.decide(command, state)) {
      events.push(event);
      state = decider.evolve(state, event);
    }
  }
  return { events, state };
}

/** The state `events` leave, from the decider's initial state. */
export function stateOf<C extends Command, E extends DomainEvent, S>(decider: Decider<C, E, S>, events: readonly E[]): S {
  return events.reduce((state, event) => decider.evolve(state, event), decider.initialState());
}

/**
 * `spec(decider).given(events).when(command).then(expected)` (or
 * `.thenThrows(matcher)`, or `.decided()` for the events themselves).
 */
export function deciderSpec<C extends Command, E extends DomainEvent, S>(decider: Decider<C, E, S>) {
  return {
    given(events: readonly E[] = []) {
      const state = stateOf(decider, events);
      return {
        state,
        when(command: C) {
          const decide = (): E[] => decider.decide(command, state);
          return {
            decided: decide,
            then(expected: readonly E[]): void {
              expect(decide()).toEqual(expected);
            },
            thenThrows(matcher: unknown): void {
              expect(decide).toThrow(matcher);
            },
          };
        },
      };
    },
  };
}
