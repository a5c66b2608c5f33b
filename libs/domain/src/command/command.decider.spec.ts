import { specFor } from '../testing/given-when-then';
import type { AckStage, CommandRequest, CommandSagaCommand } from './command.commands';
import { commandSagaDecider, CommandState, deviceMessageFor, dueAt, evolveCommand, recordedBySaga, sendableWhenOnline } from './command.decider';
import type { CommandEvent, TimeoutStage } from './command.events';

const T0 = Date.UTC(2026, 10, 23, 12, 0, 0);
const SECOND = 1000;

function request(commandId: string, overrides: Partial<CommandRequest> = {}): CommandRequest {
  return {
    commandId,
    deviceId: 'dev-1',
    name: 'reboot',
    params: { delay: 1 },
    ttlMs: 600 * SECOND,
    timeouts: { deliveryMs: 10 * SECOND, acceptanceMs: 20 * SECOND, executionMs: 60 * SECOND },
    maxAttempts: 3,
    backoff: { initialMs: 2 * SECOND, maxMs: 5 * SECOND },
    ordered: true,
    idempotencyKey: null,
    bodyHash: 'hash',
    requestedBy: 'key:ops-bot',
    ...overrides,
  };
}

const c1 = request('c1');
const ids = (commandId = 'c1') => ({ commandId, deviceId: 'dev-1' });
const detailOf = (stage: AckStage) => (stage === 'failed' || stage === 'rejected' ? 'disk full' : null);
const REASON = 'operator changed their mind';
const ALICE = 'jwt:alice@example.com';

// the commands: what the processor asks of the saga, with the time and the device's connectivity
type Connectivity = 'online' | 'offline';
const metadata = (now: number, connectivity: Connectivity) => ({ now, deviceOnline: connectivity === 'online' });
const start = (req: CommandRequest, now: number, connectivity: Connectivity): CommandSagaCommand => ({ type: 'StartCommand', data: req, metadata: metadata(now, connectivity) });
const acknowledge = (stage: AckStage, now: number, connectivity: Connectivity = 'online', commandId = 'c1', attempt: number | null = 1): CommandSagaCommand => ({
  type: 'RecordAcknowledgment',
  data: { ...ids(commandId), stage, attempt, detail: detailOf(stage), result: stage === 'succeeded' ? { ok: true } : null },
  metadata: metadata(now, connectivity),
});
const cancel = (now: number, connectivity: Connectivity, cancelledBy: string | null = ALICE): CommandSagaCommand => ({
  type: 'CancelCommand', data: { ...ids(), reason: REASON, cancelledBy }, metadata: metadata(now, connectivity),
});
const checkDeadlines = (now: number, connectivity: Connectivity): CommandSagaCommand => ({ type: 'CheckDeadlines', data: { deviceId: 'dev-1' }, metadata: metadata(now, connectivity) });

// the events: what happened, as recorded on fleet.commands
const requested = (req: CommandRequest, at = T0): CommandEvent => ({ type: 'CommandRequested', data: req, metadata: { at } });
const sent = (attempt: number, at: number, commandId = 'c1'): CommandEvent => ({ type: 'CommandSent', data: { ...ids(commandId), attempt }, metadata: { at } });
const retryScheduled = (attempt: number, retryAt: number, at: number): CommandEvent => ({ type: 'CommandRetryScheduled', data: { ...ids(), attempt, retryAt }, metadata: { at } });
const delivered = (at: number, attempt: number | null = 1): CommandEvent => ({ type: 'CommandDelivered', data: { ...ids(), attempt }, metadata: { at } });
const accepted = (at: number): CommandEvent => ({ type: 'CommandAccepted', data: ids(), metadata: { at } });
const rejected = (at: number): CommandEvent => ({ type: 'CommandRejected', data: { ...ids(), detail: 'disk full' }, metadata: { at } });
const succeeded = (at: number, commandId = 'c1'): CommandEvent => ({ type: 'CommandSucceeded', data: { ...ids(commandId), result: { ok: true }, detail: null }, metadata: { at } });
const failed = (at: number): CommandEvent => ({ type: 'CommandFailed', data: { ...ids(), detail: 'disk full' }, metadata: { at } });
const timedOut = (stage: TimeoutStage, at: number): CommandEvent => ({ type: 'CommandTimedOut', data: { ...ids(), stage }, metadata: { at } });
const expired = (at: number, commandId = 'c1'): CommandEvent => ({ type: 'CommandExpired', data: ids(commandId), metadata: { at } });
const cancellationRequested = (at: number, cancelledBy: string | null = ALICE): CommandEvent => ({
  type: 'CommandCancellationRequested', data: { ...ids(), reason: REASON, cancelledBy }, metadata: { at },
});
const cancelled = (at: number, cancelledBy: string | null = ALICE): CommandEvent => ({ type: 'CommandCancelled', data: { ...ids(), reason: REASON, cancelledBy }, metadata: { at } });

const given = specFor(commandSagaDecider);
const stateOf = (commands: readonly CommandState[], commandId = 'c1') => commands.find((command) => command.request.commandId === commandId)!;
const inFlight = [requested(c1), sent(1, T0)];

describe('command saga', () => {
  describe.each<[string, CommandEvent[], CommandSagaCommand, CommandEvent[], Partial<CommandState>]>([
    // name, given, when, then, state of c1 after
    ['a command for an offline device', [], start(c1, T0, 'offline'), [requested(c1)], { status: 'queued', attempts: 0 }],
    ['a command for an online device', [], start(c1, T0, 'online'), [requested(c1), sent(1, T0)], { status: 'sent', attempts: 1, stageDeadline: { stage: 'delivery', at: T0 + 10 * SECOND } }],
    ['a held command when its device comes back', [requested(c1)], checkDeadlines(T0 + 30 * SECOND, 'online'), [sent(1, T0 + 30 * SECOND)], { status: 'sent', attempts: 1 }],
    ['a held command while its device stays away', [requested(c1)], checkDeadlines(T0 + 30 * SECOND, 'offline'), [], { status: 'queued' }],
    ['a held command at its time to live', [requested(c1)], checkDeadlines(T0 + 600 * SECOND, 'offline'), [expired(T0 + 600 * SECOND)], { status: 'expired' }],
    ['a delivered acknowledgment', inFlight, acknowledge('delivered', T0 + SECOND), [delivered(T0 + SECOND)], { status: 'delivered', stageDeadline: { stage: 'acceptance', at: T0 + 21 * SECOND } }],
    ['an accepted acknowledgment', [...inFlight, delivered(T0 + SECOND)], acknowledge('accepted', T0 + 2 * SECOND), [accepted(T0 + 2 * SECOND)], { status: 'accepted', stageDeadline: { stage: 'execution', at: T0 + 62 * SECOND } }],
    ['a success after acceptance', [...inFlight, accepted(T0 + SECOND)], acknowledge('succeeded', T0 + 2 * SECOND), [succeeded(T0 + 2 * SECOND)], { status: 'succeeded', result: { ok: true }, stageDeadline: null }],
    ['a success that skips the earlier stages', inFlight, acknowledge('succeeded', T0 + SECOND), [succeeded(T0 + SECOND)], { status: 'succeeded' }],
    ['a rejection', inFlight, acknowledge('rejected', T0 + SECOND), [rejected(T0 + SECOND)], { status: 'rejected', detail: 'disk full' }],
    ['a failure', [...inFlight, accepted(T0 + SECOND)], acknowledge('failed', T0 + 2 * SECOND), [failed(T0 + 2 * SECOND)], { status: 'failed', detail: 'disk full' }],
    ['a lost delivery acknowledgment', inFlight, checkDeadlines(T0 + 10 * SECOND, 'online'), [retryScheduled(2, T0 + 12 * SECOND, T0 + 10 * SECOND)], { status: 'queued', retryAt: T0 + 12 * SECOND, attempts: 1 }],
    ['a retry before its backoff ran out', [...inFlight, retryScheduled(2, T0 + 12 * SECOND, T0 + 10 * SECOND)], checkDeadlines(T0 + 11 * SECOND, 'online'), [], { status: 'queued' }],
    ['a retry after its backoff', [...inFlight, retryScheduled(2, T0 + 12 * SECOND, T0 + 10 * SECOND)], checkDeadlines(T0 + 12 * SECOND, 'online'), [sent(2, T0 + 12 * SECOND)], { status: 'sent', attempts: 2 }],
    ['a retry while the device is offline', [...inFlight, retryScheduled(2, T0 + 12 * SECOND, T0 + 10 * SECOND)], checkDeadlines(T0 + 12 * SECOND, 'offline'), [], { status: 'queued', attempts: 1 }],
    ['a late delivery acknowledgment while a retry waits', [...inFlight, retryScheduled(2, T0 + 12 * SECOND, T0 + 10 * SECOND)], acknowledge('delivered', T0 + 11 * SECOND), [delivered(T0 + 11 * SECOND)], { status: 'delivered', retryAt: null }],
    ['the last attempt unacknowledged', [requested({ ...c1, maxAttempts: 1 }), sent(1, T0)], checkDeadlines(T0 + 10 * SECOND, 'online'), [timedOut('delivery', T0 + 10 * SECOND)], { status: 'timed_out', detail: 'no delivery acknowledgment in time' }],
    ['no acceptance in time', [...inFlight, delivered(T0)], checkDeadlines(T0 + 20 * SECOND, 'online'), [timedOut('acceptance', T0 + 20 * SECOND)], { status: 'timed_out', detail: 'no acceptance acknowledgment in time' }],
    ['no result in time', [...inFlight, accepted(T0)], checkDeadlines(T0 + 60 * SECOND, 'online'), [timedOut('execution', T0 + 60 * SECOND)], { status: 'timed_out', detail: 'no execution acknowledgment in time' }],
    ['time to live while sent and not delivered', [requested({ ...c1, ttlMs: 5 * SECOND }), sent(1, T0)], checkDeadlines(T0 + 5 * SECOND, 'online'), [expired(T0 + 5 * SECOND)], { status: 'expired' }],
    ['time to live after delivery', [requested({ ...c1, ttlMs: 5 * SECOND }), sent(1, T0), delivered(T0 + SECOND)], checkDeadlines(T0 + 6 * SECOND, 'online'), [], { status: 'delivered' }],
    ['a duplicate acknowledgment', [...inFlight, delivered(T0 + SECOND)], acknowledge('delivered', T0 + 2 * SECOND), [], { status: 'delivered' }],
    ['an acknowledgment out of order', [...inFlight, accepted(T0 + SECOND)], acknowledge('delivered', T0 + 2 * SECOND), [], { status: 'accepted' }],
    ['an acknowledgment after the end', [...inFlight, succeeded(T0 + SECOND)], acknowledge('failed', T0 + 2 * SECOND), [], { status: 'succeeded' }],
    ['an acknowledgment before any send', [requested(c1)], acknowledge('delivered', T0 + SECOND), [sent(1, T0 + SECOND)], { status: 'sent', attempts: 1 }],
    ['a cancellation while queued', [requested(c1)], cancel(T0 + SECOND, 'offline'), [cancellationRequested(T0 + SECOND), cancelled(T0 + SECOND)], { status: 'cancelled', detail: REASON }],
    ['a cancellation in flight', inFlight, cancel(T0 + SECOND, 'online'), [cancellationRequested(T0 + SECOND), cancelled(T0 + SECOND)], { status: 'cancelled' }],
    ['a cancellation after the end', [...inFlight, succeeded(T0 + SECOND)], cancel(T0 + 2 * SECOND, 'online'), [], { status: 'succeeded', cancelledBy: null }],
    ['the same request again', inFlight, start(c1, T0 + SECOND, 'online'), [], { status: 'sent', attempts: 1, version: 2 }],
  ])('%s', (_name, history, command, expected, expectedState) => {
    it(`decides ${expected.map((event) => event.type).join(', ') || 'nothing'}, and leaves the command in the expected state`, () => {
      const after = given(...history).when(command).then(expected);
      expect(stateOf(after)).toMatchObject(expectedState);
    });
  });

  describe('when delivery keeps failing', () => {
    const maxAttempts = 5;
    const history: CommandEvent[] = [requested({ ...c1, maxAttempts }), sent(1, T0)];
    const backoffs: number[] = [];
    for (let round = 0; round < maxAttempts; round += 1) {
      const missed = given(...history).when(checkDeadlines(stateOf(given(...history).state).stageDeadline!.at, 'online'));
      history.push(...missed.events!);
      const { retryAt } = stateOf(missed.stateAfter);
      if (retryAt === null) break;
      backoffs.push(retryAt - missed.events![0]!.metadata.at);
      history.push(...given(...history).when(checkDeadlines(retryAt, 'online')).events!);
    }
    it('backs off exponentially up to the maximum', () => expect(backoffs).toEqual([2000, 4000, 5000, 5000]));
    it('times out delivery after the last attempt', () => {
      expect(history.at(-1)!.type).toBe('CommandTimedOut');
      expect(stateOf(given(...history).state)).toMatchObject({ status: 'timed_out', attempts: maxAttempts });
    });
  });

  describe('when a device has several commands', () => {
    const c2 = request('c2');
    const urgent = request('urgent', { ordered: false });
    const oneInFlight = [requested(c1), sent(1, T0)];
    it('does not send the next ordered command while the one before it runs', () => {
      given(...oneInFlight).when(start(c2, T0 + 1, 'online')).then([requested(c2, T0 + 1)]);
    });
    it('sends the next ordered command once the one before it ended', () => {
      given(...oneInFlight, requested(c2, T0 + 1)).when(acknowledge('succeeded', T0 + SECOND)).then([succeeded(T0 + SECOND), sent(1, T0 + SECOND, 'c2')]);
    });
    it('sends an unordered command at once', () => {
      given(...oneInFlight).when(start(urgent, T0 + 2, 'online')).then([requested(urgent, T0 + 2), sent(1, T0 + 2, 'urgent')]);
    });
    it('does not let a held ordered command block after it expired', () => {
      given(requested({ ...c1, ttlMs: SECOND }), requested(c2, T0 + 1)).when(checkDeadlines(T0 + SECOND, 'online')).then([expired(T0 + SECOND), sent(1, T0 + SECOND, 'c2')]);
    });
  });

  describe('whether a device coming online would get something', () => {
    it.each<[string, CommandEvent[], boolean]>([
      ['a held command', [requested(c1)], true],
      ['an ordered command behind one in flight', [...inFlight, requested(request('c2'), T0 + 1)], false],
      ['a retry whose backoff has not run out', [...inFlight, retryScheduled(2, T0 + 12 * SECOND, T0 + 10 * SECOND)], false],
      ['nothing open', [...inFlight, succeeded(T0 + SECOND)], false],
    ])('%s', (_name, history, expected) => {
      const open = given(...history).state.filter((command) => command.status !== 'succeeded');
      expect(sendableWhenOnline(open, T0 + 11 * SECOND)).toBe(expected);
    });
  });

  describe('when the service restarts', () => {
    it('has the deadlines in the state it folds from the recorded events', () => {
      const folded = stateOf(given(requested(c1), sent(1, T0 + SECOND), delivered(T0 + 2 * SECOND)).state);
      expect(dueAt(folded)).toBe(T0 + 22 * SECOND);
    });
  });

  describe('when a command has ended', () => {
    it('ignores every later event and has no deadline', () => {
      const done = stateOf(given(...inFlight, succeeded(T0 + SECOND)).state);
      expect(evolveCommand(done, failed(T0 + 2 * SECOND))).toBe(done);
      expect(dueAt(done)).toBeNull();
    });
  });

  describe('who asked', () => {
    it('a requested command keeps who requested it, through every later step', () => {
      const after = given(...inFlight).when(acknowledge('succeeded', T0 + SECOND)).then([succeeded(T0 + SECOND)]);
      expect(stateOf(after)).toMatchObject({ status: 'succeeded', request: { requestedBy: 'key:ops-bot' }, cancelledBy: null });
    });
    it('a cancellation records who cancelled, on the CommandCancelled event and in the state', () => {
      const after = given(...inFlight).when(cancel(T0 + SECOND, 'online')).then([cancellationRequested(T0 + SECOND), cancelled(T0 + SECOND)]);
      expect(stateOf(after)).toMatchObject({ status: 'cancelled', cancelledBy: ALICE, request: { requestedBy: 'key:ops-bot' } });
    });
    it('an unknown caller (a record from before callers were audited) is null, not an error', () => {
      const after = given(requested({ ...c1, requestedBy: null }), sent(1, T0)).when(cancel(T0 + SECOND, 'online', null)).then([cancellationRequested(T0 + SECOND, null), cancelled(T0 + SECOND, null)]);
      expect(stateOf(after)).toMatchObject({ status: 'cancelled', cancelledBy: null, request: { requestedBy: null } });
    });
  });

  describe('what the saga writes to fleet.commands', () => {
    it('everything it decided but the request and cancellation request, which the REST API recorded', () => {
      const started = given().when(start(c1, T0, 'online')).events!;
      const stopped = given(...inFlight).when(cancel(T0 + SECOND, 'online')).events!;
      expect([...started, ...stopped].filter(recordedBySaga).map((event) => event.type)).toEqual(['CommandSent', 'CommandCancelled']);
    });
  });

  describe('what the device is told', () => {
    it('to execute on a send, and to cancel only what it already has', () => {
      const before = stateOf(given(...inFlight).state);
      const stopped = given(...inFlight).when(cancel(T0 + SECOND, 'online'));
      expect(deviceMessageFor(undefined, sent(1, T0), before)).toMatchObject({ action: 'execute', attempt: 1, name: 'reboot' });
      expect(deviceMessageFor(before, stopped.events!.at(-1)!, stateOf(stopped.stateAfter))).toMatchObject({ action: 'cancel', commandId: 'c1' });
      const held = stateOf(given(requested(c1)).state);
      const cancelledWhileHeld = given(requested(c1)).when(cancel(T0 + SECOND, 'offline'));
      expect(deviceMessageFor(held, cancelledWhileHeld.events!.at(-1)!, stateOf(cancelledWhileHeld.stateAfter))).toBeNull();
    });
  });
});
