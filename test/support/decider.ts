import type { Command, Decider, DomainEvent } from '../../src/aggregates/decider.js';

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
