/** What a command means: the events to record (none when it changes nothing), or a refusal the caller turns into an answer. */
export type Decision<Event, Rejection = never> = { events: Event[] } | { rejection: Rejection };

/**
 * The shape of every decider in the domain (emmett's Decider): a state is the fold of its events
 * from `initialState` with `evolve`, and `decide` says what a command means in a state. Both are
 * pure; time and ids arrive in the commands.
 */
export interface Decider<Command, Event, State, Rejection = never> {
  initialState: () => State;
  decide: (command: Command, state: State) => Decision<Event, Rejection>;
  evolve: (state: State, event: Event) => State;
}
