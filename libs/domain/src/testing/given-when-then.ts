import type { Decider } from '../decider';

/**
 * Specs for a decider, read as `given(events).when(command).then(events)`: the state is the fold of
 * the given events, and the assertions are on what `decide` answers for the command. Jest only: not
 * part of the built library.
 */
export function specFor<Command, Event, State, Rejection>(decider: Decider<Command, Event, State, Rejection>) {
  return function given(...history: Event[]) {
    const state = history.reduce(decider.evolve, decider.initialState());
    return {
      /** The state the given events fold into. */
      state,
      when(command: Command) {
        const decision = decider.decide(command, state);
        const events = 'events' in decision ? decision.events : null;
        const stateAfter = (events ?? []).reduce(decider.evolve, state);
        return {
          /** The events decided (null when the command was refused). */
          events,
          /** The state after the decided events (the given state when refused). */
          stateAfter,
          /** Asserts the decided events, in order; returns the state after them. */
          then(expected: Event[]): State {
            expect(decision).toEqual({ events: expected });
            return stateAfter;
          },
          /** Asserts the command was refused, with a rejection that matches `expected`. */
          thenRejects(expected: Partial<Rejection>): void {
            expect(decision).toMatchObject({ rejection: expected });
          },
        };
      },
    };
  };
}
