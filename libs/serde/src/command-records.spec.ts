import { CommandEvent, CommandRequest, CommandSagaCommand, commandSagaDecider, CommandState, decideCommandSaga, evolveCommandSaga } from '@fleetstream/domain';
import avro from 'avsc';
import { fromCommandAckRecord, fromCommandEventRecord, fromCommandStateSnapshot, toCommandAckRecord, toCommandEventRecord, toCommandStateSnapshot } from './command-records';
import { readAvroSchema } from './schema-files';

const T0 = Date.UTC(2026, 10, 23, 12, 0, 0);
const request: CommandRequest = {
  commandId: 'c1', deviceId: 'dev-1', name: 'set-rate', params: { hz: 5, tags: ['a'] }, ttlMs: 60_000,
  timeouts: { deliveryMs: 1000, acceptanceMs: 2000, executionMs: 3000 }, maxAttempts: 2,
  backoff: { initialMs: 100, maxMs: 1000 }, ordered: true, idempotencyKey: 'k-1', bodyHash: 'abc', requestedBy: 'key:ops-bot',
};

/** The events and the state after each command, from nothing: decide, then fold. */
function run(commands: CommandSagaCommand[]): { events: CommandEvent[]; state: CommandState } {
  let state = commandSagaDecider.initialState();
  const events: CommandEvent[] = [];
  for (const command of commands) {
    const { events: decided } = decideCommandSaga(command, state);
    events.push(...decided);
    state = decided.reduce(evolveCommandSaga, state);
  }
  return { events, state: state[0]! };
}

const online = (now: number) => ({ now, deviceOnline: true });

/** Drives one command through retry, timeout-free delivery and success, collecting every event and the final state. */
function lifecycle(): { events: CommandEvent[]; state: CommandState } {
  return run([
    { type: 'StartCommand', data: request, metadata: online(T0) },
    { type: 'CheckDeadlines', data: { deviceId: 'dev-1' }, metadata: online(T0 + 1000) },
    { type: 'CheckDeadlines', data: { deviceId: 'dev-1' }, metadata: online(T0 + 1100) },
    { type: 'RecordAcknowledgment', data: { commandId: 'c1', deviceId: 'dev-1', stage: 'succeeded', attempt: 2, detail: 'ok', result: { rebooted: true } }, metadata: online(T0 + 1200) },
  ]);
}

/** A command requested by one caller and cancelled by another, while queued. */
function cancelledLifecycle(): { events: CommandEvent[]; state: CommandState } {
  const offline = (now: number) => ({ now, deviceOnline: false });
  return run([
    { type: 'StartCommand', data: request, metadata: offline(T0) },
    { type: 'CancelCommand', data: { commandId: 'c1', deviceId: 'dev-1', reason: 'wrong pump', cancelledBy: 'jwt:alice@example.com' }, metadata: offline(T0 + 10) },
  ]);
}

describe('command records', () => {
  const { events, state } = lifecycle();

  it('every event survives Avro (command-event.avsc) unchanged', () => {
    const type = avro.Type.forSchema(readAvroSchema('command-event'));
    const timedOut: CommandEvent = { type: 'CommandTimedOut', data: { commandId: 'c1', deviceId: 'dev-1', stage: 'acceptance' }, metadata: { at: T0 } };
    for (const event of [...events, timedOut]) {
      const record = type.fromBuffer(type.toBuffer(toCommandEventRecord(event)));
      expect(fromCommandEventRecord(record)).toEqual(event);
    }
  });

  it('the command state survives Avro (command-state.avsc) unchanged, history included', () => {
    const type = avro.Type.forSchema(readAvroSchema('command-state'));
    expect(state.history.map((entry) => entry.type)).toEqual(['CommandRequested', 'CommandSent', 'CommandRetryScheduled', 'CommandSent', 'CommandSucceeded']);
    expect(fromCommandStateSnapshot(type.fromBuffer(type.toBuffer(toCommandStateSnapshot(state))))).toEqual(state);
  });

  it('an acknowledgment survives Avro (command-ack.avsc) unchanged', () => {
    const type = avro.Type.forSchema(readAvroSchema('command-ack'));
    const ack = { commandId: 'c1', deviceId: 'dev-1', stage: 'succeeded' as const, attempt: 2, detail: 'ok', result: { rebooted: true } };
    expect(fromCommandAckRecord(type.fromBuffer(type.toBuffer(toCommandAckRecord(ack, T0))))).toEqual(ack);
  });

  describe('who asked', () => {
    const cancelled = cancelledLifecycle();

    it('the request and the cancellation carry their caller as the record\'s actor, and read back unchanged', () => {
      const type = avro.Type.forSchema(readAvroSchema('command-event'));
      expect(cancelled.events.map((event) => [event.type, toCommandEventRecord(event).actor])).toEqual([
        ['CommandRequested', 'key:ops-bot'],
        ['CommandCancellationRequested', 'jwt:alice@example.com'],
        ['CommandCancelled', 'jwt:alice@example.com'],
      ]);
      for (const event of cancelled.events) expect(fromCommandEventRecord(type.fromBuffer(type.toBuffer(toCommandEventRecord(event))))).toEqual(event);
    });

    it('events no caller caused have no actor', () => {
      expect(events.filter((event) => event.type !== 'CommandRequested').map((event) => toCommandEventRecord(event).actor)).toEqual([null, null, null, null]);
    });

    it('the state keeps who requested and who cancelled through Avro (command-state.avsc)', () => {
      const type = avro.Type.forSchema(readAvroSchema('command-state'));
      const snapshot = toCommandStateSnapshot(cancelled.state);
      expect(snapshot).toMatchObject({ requestedBy: 'key:ops-bot', cancelledBy: 'jwt:alice@example.com' });
      expect(fromCommandStateSnapshot(type.fromBuffer(type.toBuffer(snapshot)))).toEqual(cancelled.state);
    });
  });

  it('names the missing field of a malformed event', () => {
    expect(() => fromCommandEventRecord({ ...toCommandEventRecord(events[1]!), attempt: null })).toThrow('SENT event for command c1 has no attempt');
  });
});
