import type { Decider } from '../decider';
import { specFor } from './given-when-then';

/** A counter that refuses to go below zero: the smallest decider with events, state and a refusal. */
type CounterEvent = { type: 'Added'; amount: number };
type CounterCommand = { type: 'Add'; amount: number };
const counter: Decider<CounterCommand, CounterEvent, number, { type: 'BelowZero'; total: number }> = {
  initialState: () => 0,
  decide: ({ amount }, total) => (total + amount < 0 ? { rejection: { type: 'BelowZero', total: total + amount } } : { events: amount === 0 ? [] : [{ type: 'Added', amount }] }),
  evolve: (total, event) => total + event.amount,
};
const added = (amount: number): CounterEvent => ({ type: 'Added', amount });
const add = (amount: number): CounterCommand => ({ type: 'Add', amount });
const given = specFor(counter);

describe('given(events).when(command).then(events)', () => {
  it('folds the given events into the state', () => expect(given(added(2), added(3)).state).toBe(5));
  it('passes on the decided events and returns the state after them', () => expect(given(added(2)).when(add(3)).then([added(3)])).toBe(5));
  it('fails on other events', () => expect(() => given(added(2)).when(add(3)).then([added(4)])).toThrow());
  it('fails on events where nothing was decided', () => expect(() => given().when(add(0)).then([added(0)])).toThrow());
  it('fails when the command was refused', () => expect(() => given().when(add(-1)).then([])).toThrow());
  it('passes on a matching refusal', () => given(added(1)).when(add(-2)).thenRejects({ type: 'BelowZero', total: -1 }));
  it('fails on a refusal when events were decided', () => expect(() => given().when(add(1)).thenRejects({ type: 'BelowZero' })).toThrow());
  it('fails on another refusal', () => expect(() => given().when(add(-2)).thenRejects({ total: -1 })).toThrow());
});
