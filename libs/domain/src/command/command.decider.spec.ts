import type { CommandRequest, CommandSagaInput } from './command.commands';
import { commandSagaStep, CommandState, deviceMessageFor, dueAt, evolveCommand, sendableWhenOnline } from './command.decider';
import type { CommandEvent } from './command.events';

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

const requested = (req: CommandRequest, now = T0): CommandSagaInput => ({ type: 'CommandRequested', data: req, metadata: { now } });
const ack = (commandId: string, stage: 'delivered' | 'accepted' | 'rejected' | 'succeeded' | 'failed', now: number, attempt: number | null = 1): CommandSagaInput => ({
  type: 'DeviceAcknowledged',
  data: { commandId, deviceId: 'dev-1', stage, attempt, detail: stage === 'failed' || stage === 'rejected' ? 'disk full' : null, result: stage === 'succeeded' ? { ok: true } : null },
  metadata: { now },
});
const cancel = (commandId: string, now: number, cancelledBy: string | null = 'jwt:alice@example.com'): CommandSagaInput => ({
  type: 'CommandCancellationRequested',
  data: { commandId, deviceId: 'dev-1', reason: 'operator changed their mind', cancelledBy },
  metadata: { now },
});
const tick = (now: number): CommandSagaInput => ({ type: 'TimePassed', data: { deviceId: 'dev-1' }, metadata: { now } });

type Step = [CommandSagaInput, boolean];
const online = (input: CommandSagaInput): Step => [input, true];
const offline = (input: CommandSagaInput): Step => [input, false];

/** given(steps).when(step) → the events recorded and the commands after them. */
function given(...steps: Step[]) {
  let commands: readonly CommandState[] = [];
  const history: CommandEvent[] = [];
  for (const [input, isOnline] of steps) {
    const result = commandSagaStep(input, commands, isOnline);
    commands = result.commands;
    history.push(...result.events);
  }
  return {
    commands,
    history,
    when([input, isOnline]: Step) {
      const result = commandSagaStep(input, commands, isOnline);
      return { events: result.events, types: result.events.map((e) => e.type), commands: result.commands, state: (id = 'c1') => result.commands.find((c) => c.request.commandId === id)! };
    },
  };
}

const c1 = request('c1');
const sentAt = (now = T0) => [online(requested(c1, now))] as Step[];

describe('command saga', () => {
  describe.each<[string, Step[], Step, string[], Partial<CommandState>]>([
    // name, given, when, events recorded, state of c1 after
    ['a command for an offline device', [], offline(requested(c1)), [], { status: 'queued', attempts: 0 }],
    ['a command for an online device', [], online(requested(c1)), ['CommandSent'], { status: 'sent', attempts: 1, stageDeadline: { stage: 'delivery', at: T0 + 10 * SECOND } }],
    ['a held command when its device comes back', [offline(requested(c1))], online(tick(T0 + 30 * SECOND)), ['CommandSent'], { status: 'sent', attempts: 1 }],
    ['a held command while its device stays away', [offline(requested(c1))], offline(tick(T0 + 30 * SECOND)), [], { status: 'queued' }],
    ['a held command at its time to live', [offline(requested(c1))], offline(tick(T0 + 600 * SECOND)), ['CommandExpired'], { status: 'expired' }],
    ['a delivered acknowledgment', sentAt(), online(ack('c1', 'delivered', T0 + SECOND)), ['CommandDelivered'], { status: 'delivered', stageDeadline: { stage: 'acceptance', at: T0 + 21 * SECOND } }],
    ['an accepted acknowledgment', [...sentAt(), online(ack('c1', 'delivered', T0 + SECOND))], online(ack('c1', 'accepted', T0 + 2 * SECOND)), ['CommandAccepted'], { status: 'accepted', stageDeadline: { stage: 'execution', at: T0 + 62 * SECOND } }],
    ['a success after acceptance', [...sentAt(), online(ack('c1', 'accepted', T0 + SECOND))], online(ack('c1', 'succeeded', T0 + 2 * SECOND)), ['CommandSucceeded'], { status: 'succeeded', result: { ok: true }, stageDeadline: null }],
    ['a success that skips the earlier stages', sentAt(), online(ack('c1', 'succeeded', T0 + SECOND)), ['CommandSucceeded'], { status: 'succeeded' }],
    ['a rejection', sentAt(), online(ack('c1', 'rejected', T0 + SECOND)), ['CommandRejected'], { status: 'rejected', detail: 'disk full' }],
    ['a failure', [...sentAt(), online(ack('c1', 'accepted', T0 + SECOND))], online(ack('c1', 'failed', T0 + 2 * SECOND)), ['CommandFailed'], { status: 'failed', detail: 'disk full' }],
    ['a lost delivery acknowledgment', sentAt(), online(tick(T0 + 10 * SECOND)), ['CommandRetryScheduled'], { status: 'queued', retryAt: T0 + 12 * SECOND, attempts: 1 }],
    ['a retry before its backoff ran out', [...sentAt(), online(tick(T0 + 10 * SECOND))], online(tick(T0 + 11 * SECOND)), [], { status: 'queued' }],
    ['a retry after its backoff', [...sentAt(), online(tick(T0 + 10 * SECOND))], online(tick(T0 + 12 * SECOND)), ['CommandSent'], { status: 'sent', attempts: 2 }],
    ['a retry while the device is offline', [...sentAt(), online(tick(T0 + 10 * SECOND))], offline(tick(T0 + 12 * SECOND)), [], { status: 'queued', attempts: 1 }],
    ['a late delivery acknowledgment while a retry waits', [...sentAt(), online(tick(T0 + 10 * SECOND))], online(ack('c1', 'delivered', T0 + 11 * SECOND)), ['CommandDelivered'], { status: 'delivered', retryAt: null }],
    ['the last attempt unacknowledged', [online(requested({ ...c1, maxAttempts: 1 }))], online(tick(T0 + 10 * SECOND)), ['CommandTimedOut'], { status: 'timed_out', detail: 'no delivery acknowledgment in time' }],
    ['no acceptance in time', [...sentAt(), online(ack('c1', 'delivered', T0))], online(tick(T0 + 20 * SECOND)), ['CommandTimedOut'], { status: 'timed_out', detail: 'no acceptance acknowledgment in time' }],
    ['no result in time', [...sentAt(), online(ack('c1', 'accepted', T0))], online(tick(T0 + 60 * SECOND)), ['CommandTimedOut'], { status: 'timed_out', detail: 'no execution acknowledgment in time' }],
    ['time to live while sent and not delivered', [online(requested({ ...c1, ttlMs: 5 * SECOND }))], online(tick(T0 + 5 * SECOND)), ['CommandExpired'], { status: 'expired' }],
    ['time to live after delivery', [online(requested({ ...c1, ttlMs: 5 * SECOND })), online(ack('c1', 'delivered', T0 + SECOND))], online(tick(T0 + 6 * SECOND)), [], { status: 'delivered' }],
    ['a duplicate acknowledgment', [...sentAt(), online(ack('c1', 'delivered', T0 + SECOND))], online(ack('c1', 'delivered', T0 + 2 * SECOND)), [], { status: 'delivered' }],
    ['an acknowledgment out of order', [...sentAt(), online(ack('c1', 'accepted', T0 + SECOND))], online(ack('c1', 'delivered', T0 + 2 * SECOND)), [], { status: 'accepted' }],
    ['an acknowledgment after the end', [...sentAt(), online(ack('c1', 'succeeded', T0 + SECOND))], online(ack('c1', 'failed', T0 + 2 * SECOND)), [], { status: 'succeeded' }],
    ['an acknowledgment before any send', [offline(requested(c1))], online(ack('c1', 'delivered', T0 + SECOND)), ['CommandSent'], { status: 'sent', attempts: 1 }],
    ['a cancellation while queued', [offline(requested(c1))], offline(cancel('c1', T0 + SECOND)), ['CommandCancelled'], { status: 'cancelled', detail: 'operator changed their mind' }],
    ['a cancellation in flight', sentAt(), online(cancel('c1', T0 + SECOND)), ['CommandCancelled'], { status: 'cancelled' }],
    ['a cancellation after the end', [...sentAt(), online(ack('c1', 'succeeded', T0 + SECOND))], online(cancel('c1', T0 + 2 * SECOND)), [], { status: 'succeeded' }],
    ['the same request again', sentAt(), online(requested(c1, T0 + SECOND)), [], { status: 'sent', attempts: 1, version: 2 }],
  ])('%s', (_name, steps, when, expectedEvents, expectedState) => {
    const result = given(...steps).when(when);
    it(`records ${expectedEvents.join(', ') || 'nothing'}`, () => expect(result.types).toEqual(expectedEvents));
    it('leaves the command in the expected state', () => expect(result.state()).toMatchObject(expectedState));
  });

  describe('when delivery keeps failing', () => {
    const maxAttempts = 5;
    let commands = commandSagaStep(requested({ ...c1, maxAttempts }), [], true).commands;
    let now = T0;
    const backoffs: number[] = [];
    const types: string[] = [];
    for (let round = 0; round < maxAttempts; round += 1) {
      now = commands[0]!.stageDeadline!.at;
      const missed = commandSagaStep(tick(now), commands, true);
      types.push(...missed.events.map((e) => e.type));
      commands = missed.commands;
      const retryAt = commands[0]!.retryAt;
      if (retryAt === null) break;
      backoffs.push(retryAt - now);
      commands = commandSagaStep(tick(retryAt), commands, true).commands;
    }
    it('backs off exponentially up to the maximum', () => expect(backoffs).toEqual([2000, 4000, 5000, 5000]));
    it('times out delivery after the last attempt', () => {
      expect(types.at(-1)).toBe('CommandTimedOut');
      expect(commands[0]).toMatchObject({ status: 'timed_out', attempts: maxAttempts });
    });
  });

  describe('when a device has several commands', () => {
    const c2 = request('c2');
    const urgent = request('urgent', { ordered: false });
    const queued = given(online(requested(c1)), online(requested(c2, T0 + 1)));
    it('sends the next ordered command only after the one before it ended', () => {
      expect(queued.history.map((e) => `${e.type}:${e.data.commandId}`)).toEqual(['CommandSent:c1']);
      const done = queued.when(online(ack('c1', 'succeeded', T0 + SECOND)));
      expect(done.events.map((e) => `${e.type}:${e.data.commandId}`)).toEqual(['CommandSucceeded:c1', 'CommandSent:c2']);
    });
    it('sends an unordered command at once', () => {
      expect(queued.when(online(requested(urgent, T0 + 2))).types).toEqual(['CommandSent']);
    });
    it('does not let a held ordered command block after it expired', () => {
      const expired = given(offline(requested({ ...c1, ttlMs: SECOND })), offline(requested(c2, T0 + 1))).when(online(tick(T0 + SECOND)));
      expect(expired.events.map((e) => `${e.type}:${e.data.commandId}`)).toEqual(['CommandExpired:c1', 'CommandSent:c2']);
    });
  });

  describe('whether a device coming online would get something', () => {
    it.each<[string, Step[], boolean]>([
      ['a held command', [offline(requested(c1))], true],
      ['an ordered command behind one in flight', [online(requested(c1)), online(requested(request('c2'), T0 + 1))], false],
      ['a retry whose backoff has not run out', [online(requested(c1)), online(tick(T0 + 10 * SECOND))], false],
      ['nothing open', [online(requested(c1)), online(ack('c1', 'succeeded', T0 + SECOND))], false],
    ])('%s', (_name, steps, expected) => {
      const open = given(...steps).commands.filter((command) => command.status !== 'succeeded');
      expect(sendableWhenOnline(open, T0 + 11 * SECOND)).toBe(expected);
    });
  });

  describe('when the service restarts', () => {
    it('rebuilds the same state, deadlines included, from the recorded events', () => {
      const run = given(offline(requested(c1)), online(tick(T0 + SECOND)), online(ack('c1', 'delivered', T0 + 2 * SECOND)));
      const events: CommandEvent[] = [{ type: 'CommandRequested', data: c1, metadata: { at: T0 } }, ...run.history];
      const folded = events.reduce<CommandState | null>(evolveCommand, null)!;
      expect(folded).toEqual(run.commands[0]);
      expect(dueAt(folded)).toBe(T0 + 22 * SECOND);
    });
  });

  describe('when a command has ended', () => {
    it('ignores every later event and has no deadline', () => {
      const done = given(online(requested(c1)), online(ack('c1', 'succeeded', T0 + SECOND))).commands[0]!;
      expect(evolveCommand(done, { type: 'CommandFailed', data: { commandId: 'c1', deviceId: 'dev-1', detail: 'late' }, metadata: { at: T0 + 2 * SECOND } })).toBe(done);
      expect(dueAt(done)).toBeNull();
    });
  });

  describe('who asked', () => {
    it('a requested command keeps who requested it, through every later step', () => {
      const done = given(online(requested(c1))).when(online(ack('c1', 'succeeded', T0 + SECOND)));
      expect(done.state()).toMatchObject({ status: 'succeeded', request: { requestedBy: 'key:ops-bot' }, cancelledBy: null });
    });
    it('a cancellation records who cancelled, on the CommandCancelled event and in the state', () => {
      const cancelled = given(online(requested(c1))).when(online(cancel('c1', T0 + SECOND)));
      expect(cancelled.events).toEqual([
        { type: 'CommandCancelled', data: { commandId: 'c1', deviceId: 'dev-1', reason: 'operator changed their mind', cancelledBy: 'jwt:alice@example.com' }, metadata: { at: T0 + SECOND } },
      ]);
      expect(cancelled.state()).toMatchObject({ status: 'cancelled', cancelledBy: 'jwt:alice@example.com', request: { requestedBy: 'key:ops-bot' } });
    });
    it('a cancellation too late names nobody as the canceller', () => {
      const late = given(online(requested(c1)), online(ack('c1', 'succeeded', T0 + SECOND))).when(online(cancel('c1', T0 + 2 * SECOND)));
      expect(late.state()).toMatchObject({ status: 'succeeded', cancelledBy: null });
    });
    it('an unknown caller (a record from before callers were audited) is null, not an error', () => {
      const anonymous = given(online(requested({ ...c1, requestedBy: null }))).when(online(cancel('c1', T0 + SECOND, null)));
      expect(anonymous.events[0]!.data).toMatchObject({ cancelledBy: null });
      expect(anonymous.state()).toMatchObject({ status: 'cancelled', cancelledBy: null, request: { requestedBy: null } });
    });
    it('a rebuild from the recorded events keeps both', () => {
      const run = given(offline(requested(c1)), offline(cancel('c1', T0 + SECOND)));
      const events: CommandEvent[] = [{ type: 'CommandRequested', data: c1, metadata: { at: T0 } }, ...run.history];
      expect(events.reduce<CommandState | null>(evolveCommand, null)).toMatchObject({ cancelledBy: 'jwt:alice@example.com', request: { requestedBy: 'key:ops-bot' } });
    });
  });

  describe('what the device is told', () => {
    it('to execute on a send, and to cancel only what it already has', () => {
      const sent = given(online(requested(c1)));
      const before = sent.commands[0]!;
      const cancelled = sent.when(online(cancel('c1', T0 + SECOND)));
      expect(deviceMessageFor(undefined, sent.history[0]!, before)).toMatchObject({ action: 'execute', attempt: 1, name: 'reboot' });
      expect(deviceMessageFor(before, cancelled.events[0]!, cancelled.state())).toMatchObject({ action: 'cancel', commandId: 'c1' });
      const held = given(offline(requested(c1)));
      const cancelledWhileHeld = held.when(offline(cancel('c1', T0 + SECOND)));
      expect(deviceMessageFor(held.commands[0], cancelledWhileHeld.events[0]!, cancelledWhileHeld.state())).toBeNull();
    });
  });
});
