import type { JsonObject, JsonValue } from '../twin/twin.commands';
import { exponentialBackoffMs } from '../backoff';
import { exhaustive } from '../exhaustive';
import type { Decider } from '../decider';
import type { AckStage, CommandRequest, CommandSagaCommand } from './command.commands';
import type { CommandEvent, CommandEventType, TimeoutStage } from './command.events';

export type CommandStatus =
  | 'queued'
  | 'sent'
  | 'delivered'
  | 'accepted'
  | 'succeeded'
  | 'failed'
  | 'rejected'
  | 'timed_out'
  | 'expired'
  | 'cancelled';

export const COMMAND_STATUSES: readonly CommandStatus[] = [
  'queued', 'sent', 'delivered', 'accepted', 'succeeded', 'failed', 'rejected', 'timed_out', 'expired', 'cancelled',
];

export interface CommandHistoryEntry {
  type: CommandEventType;
  at: number;
  attempt: number | null;
  stage: TimeoutStage | null;
  detail: string | null;
}

/** One command's state: the fold of its events. Deadlines are data, so timers survive a restart. */
export interface CommandState {
  request: CommandRequest;
  status: CommandStatus;
  /** Increases by one with every event. */
  version: number;
  requestedAt: number;
  /** Not delivered by then → expired. */
  expiresAt: number;
  /** Sends so far. */
  attempts: number;
  lastSentAt: number | null;
  /** Queued for another send, not before this time. */
  retryAt: number | null;
  /** The acknowledgment awaited now, and until when. */
  stageDeadline: { stage: TimeoutStage; at: number } | null;
  updatedAt: number;
  /** The last reason or detail a device or operator gave. */
  detail: string | null;
  result: JsonValue | null;
  /** Who cancelled the command (who asked is `request.requestedBy`); null unless cancelled by a known caller. */
  cancelledBy: string | null;
  history: CommandHistoryEntry[];
}

/** A device's commands in request order, ended ones included until the processor lets them go. */
export type CommandSagaState = readonly CommandState[];

/** A message for the device or its gateway on fleet.device-commands. */
export type DeviceMessage =
  | { action: 'execute'; commandId: string; deviceId: string; name: string; params: JsonObject; attempt: number; expiresAt: number }
  | { action: 'cancel'; commandId: string; deviceId: string; name: string; params: JsonObject; attempt: number; expiresAt: number };

const TERMINAL = new Set<CommandStatus>(['succeeded', 'failed', 'rejected', 'timed_out', 'expired', 'cancelled']);

export function isTerminal(status: CommandStatus): boolean {
  return TERMINAL.has(status);
}

/** How far along a command is; an acknowledgment for a stage at or below this is a duplicate or arrived out of order. */
function progress(status: CommandStatus): number {
  switch (status) {
    case 'queued':
      return 0;
    case 'sent':
      return 1;
    case 'delivered':
      return 2;
    case 'accepted':
      return 3;
    default:
      return 4;
  }
}

const ACK_PROGRESS: Record<AckStage, number> = { delivered: 2, accepted: 3, rejected: 4, succeeded: 4, failed: 4 };

/**
 * What a command means for a device's commands: the command's own events, then a send for every
 * command the device is now ready for (when it is online). Starting and cancelling decide the
 * REST API's CommandRequested / CommandCancellationRequested first, so that the device's state is
 * the fold of its events alone; see `recordedBySaga`.
 */
export function decideCommandSaga(command: CommandSagaCommand, commands: CommandSagaState): { events: CommandEvent[] } {
  const { now, deviceOnline } = command.metadata;
  let current = commands;
  const events: CommandEvent[] = [];
  const record = (event: CommandEvent) => {
    events.push(event);
    current = evolveCommandSaga(current, event);
  };
  const find = (commandId: string) => current.find((state) => state.request.commandId === commandId);
  const at = { at: now };

  switch (command.type) {
    case 'StartCommand': {
      if (find(command.data.commandId)) return { events: [] }; // a command is started once
      record({ type: 'CommandRequested', data: command.data, metadata: at });
      break;
    }
    case 'CancelCommand': {
      const state = find(command.data.commandId);
      if (!state || isTerminal(state.status)) return { events: [] };
      record({ type: 'CommandCancellationRequested', data: command.data, metadata: at });
      record({ type: 'CommandCancelled', data: { ...idsOf(state), reason: command.data.reason, cancelledBy: command.data.cancelledBy }, metadata: at });
      break;
    }
    case 'RecordAcknowledgment': {
      const ack = command.data;
      const state = find(ack.commandId);
      if (!state || isTerminal(state.status) || state.attempts === 0) break;
      if (ACK_PROGRESS[ack.stage] <= progress(state.status)) break; // duplicate or out of order
      const ids = idsOf(state);
      switch (ack.stage) {
        case 'delivered':
          record({ type: 'CommandDelivered', data: { ...ids, attempt: ack.attempt }, metadata: at });
          break;
        case 'accepted':
          record({ type: 'CommandAccepted', data: ids, metadata: at });
          break;
        case 'rejected':
          record({ type: 'CommandRejected', data: { ...ids, detail: ack.detail }, metadata: at });
          break;
        case 'succeeded':
          record({ type: 'CommandSucceeded', data: { ...ids, result: ack.result, detail: ack.detail }, metadata: at });
          break;
        case 'failed':
          record({ type: 'CommandFailed', data: { ...ids, detail: ack.detail }, metadata: at });
          break;
        default:
          exhaustive(ack.stage);
      }
      break;
    }
    case 'CheckDeadlines':
      for (const state of current) {
        const event = deadlineEvent(state, now);
        if (event) record(event);
      }
      break;
    default:
      exhaustive(command);
  }

  if (deviceOnline) {
    for (const state of current) {
      if (readyToSend(state, current, now)) {
        record({ type: 'CommandSent', data: { ...idsOf(state), attempt: state.attempts + 1 }, metadata: at });
      }
    }
  }
  return { events };
}

/** A device's commands after one event: the named command's `evolveCommand`; a CommandRequested adds it. */
export function evolveCommandSaga(commands: CommandSagaState, event: CommandEvent): CommandSagaState {
  const index = commands.findIndex((command) => command.request.commandId === event.data.commandId);
  if (index < 0) return event.type === 'CommandRequested' ? [...commands, evolveCommand(null, event)] : commands;
  const next = [...commands];
  next[index] = evolveCommand(commands[index]!, event);
  return next;
}

/** The command saga of one device as a decider. */
export const commandSagaDecider: Decider<CommandSagaCommand, CommandEvent, CommandSagaState> = {
  initialState: () => [],
  decide: decideCommandSaga,
  evolve: evolveCommandSaga,
};

/**
 * Whether the saga writes this event to fleet.commands: CommandRequested and
 * CommandCancellationRequested are the REST API's records, which the saga reads as StartCommand and
 * CancelCommand; they are folded into the state but never written twice.
 */
export function recordedBySaga(event: CommandEvent): boolean {
  return event.type !== 'CommandRequested' && event.type !== 'CommandCancellationRequested';
}

/** The event a passed deadline means for a command, if any: expiry first, then the awaited stage. */
function deadlineEvent(command: CommandState, now: number): CommandEvent | null {
  const ids = idsOf(command);
  if ((command.status === 'queued' || command.status === 'sent') && now >= command.expiresAt) {
    return { type: 'CommandExpired', data: ids, metadata: { at: now } };
  }
  const deadline = command.stageDeadline;
  if (!deadline || now < deadline.at) return null;
  if (deadline.stage === 'delivery' && command.attempts < command.request.maxAttempts) {
    const backoffMs = exponentialBackoffMs(command.request.backoff, command.attempts);
    return { type: 'CommandRetryScheduled', data: { ...ids, attempt: command.attempts + 1, retryAt: now + backoffMs }, metadata: { at: now } };
  }
  return { type: 'CommandTimedOut', data: { ...ids, stage: deadline.stage }, metadata: { at: now } };
}

function readyToSend(command: CommandState, commands: readonly CommandState[], now: number): boolean {
  if (command.status !== 'queued' || now >= command.expiresAt) return false;
  if (command.retryAt !== null && now < command.retryAt) return false;
  if (!command.request.ordered) return true;
  // an ordered command waits for every ordered command requested before it
  for (const other of commands) {
    if (other === command) return true;
    if (other.request.ordered && !isTerminal(other.status)) return false;
  }
  return true;
}

/** When the saga must next look at this command without any input (null: it waits for an acknowledgment or a device). */
export function dueAt(command: CommandState): number | null {
  if (isTerminal(command.status)) return null;
  const times = [command.stageDeadline?.at, command.retryAt];
  if (command.status === 'queued' || command.status === 'sent') times.push(command.expiresAt);
  const due = times.filter((time): time is number => time !== null && time !== undefined);
  return due.length > 0 ? Math.min(...due) : null;
}

/** True when one of the device's commands (in request order) would be sent now if the device were online. */
export function sendableWhenOnline(commands: readonly CommandState[], now: number): boolean {
  return commands.some((command) => readyToSend(command, commands, now));
}

/** What the device must be told because of an event: run the command, or stop one it has. */
export function deviceMessageFor(before: CommandState | undefined, event: CommandEvent, after: CommandState): DeviceMessage | null {
  const { commandId, deviceId, name, params } = after.request;
  const common = { commandId, deviceId, name, params, attempt: after.attempts, expiresAt: after.expiresAt };
  if (event.type === 'CommandSent') return { action: 'execute', ...common };
  const heldByDevice = before && (before.status === 'sent' || before.status === 'delivered' || before.status === 'accepted');
  if (event.type === 'CommandCancelled' && heldByDevice) return { action: 'cancel', ...common };
  return null;
}

function idsOf(command: CommandState) {
  return { commandId: command.request.commandId, deviceId: command.request.deviceId };
}

/** A command's state after one event. Pure, and a terminal state never changes again. */
export function evolveCommand(state: CommandState | null, event: CommandEvent): CommandState {
  const at = event.metadata.at;
  if (state === null) {
    if (event.type !== 'CommandRequested') throw new Error(`${event.type} for ${event.data.commandId} before the command was requested`);
    const request = event.data;
    return {
      request,
      status: 'queued',
      version: 1,
      requestedAt: at,
      expiresAt: at + request.ttlMs,
      attempts: 0,
      lastSentAt: null,
      retryAt: null,
      stageDeadline: null,
      updatedAt: at,
      detail: null,
      result: null,
      cancelledBy: null,
      history: [historyEntry(event)],
    };
  }
  if (isTerminal(state.status)) return state;
  const next: CommandState = { ...state, version: state.version + 1, updatedAt: at, history: [...state.history, historyEntry(event)] };
  const { timeouts } = state.request;
  const finished = (status: CommandStatus, detail: string | null, result: JsonValue | null = null): CommandState => ({
    ...next,
    status,
    detail,
    result,
    retryAt: null,
    stageDeadline: null,
  });
  switch (event.type) {
    case 'CommandRequested':
      return state; // a command is requested once; decide never repeats it
    case 'CommandCancellationRequested':
      return next;
    case 'CommandSent':
      return {
        ...next,
        status: 'sent',
        attempts: event.data.attempt,
        lastSentAt: at,
        retryAt: null,
        stageDeadline: { stage: 'delivery', at: at + timeouts.deliveryMs },
      };
    case 'CommandRetryScheduled':
      return { ...next, status: 'queued', retryAt: event.data.retryAt, stageDeadline: null, detail: 'delivery not acknowledged in time' };
    case 'CommandDelivered':
      return { ...next, status: 'delivered', retryAt: null, stageDeadline: { stage: 'acceptance', at: at + timeouts.acceptanceMs } };
    case 'CommandAccepted':
      return { ...next, status: 'accepted', retryAt: null, stageDeadline: { stage: 'execution', at: at + timeouts.executionMs } };
    case 'CommandRejected':
      return finished('rejected', event.data.detail);
    case 'CommandSucceeded':
      return finished('succeeded', event.data.detail, event.data.result);
    case 'CommandFailed':
      return finished('failed', event.data.detail);
    case 'CommandTimedOut':
      return finished('timed_out', `no ${event.data.stage} acknowledgment in time`);
    case 'CommandExpired':
      return finished('expired', 'not delivered before its time to live ran out');
    case 'CommandCancelled':
      return { ...finished('cancelled', event.data.reason), cancelledBy: event.data.cancelledBy };
    default:
      return exhaustive(event);
  }
}

function historyEntry(event: CommandEvent): CommandHistoryEntry {
  const data = event.data as { attempt?: number | null; stage?: TimeoutStage; detail?: string | null; reason?: string | null };
  return {
    type: event.type,
    at: event.metadata.at,
    attempt: data.attempt ?? null,
    stage: data.stage ?? null,
    detail: data.detail ?? data.reason ?? null,
  };
}
