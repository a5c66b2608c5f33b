import type {
  AckStage,
  CommandAck,
  CommandEvent,
  CommandEventType,
  CommandHistoryEntry,
  CommandRequest,
  CommandState,
  CommandStatus,
  DeviceMessage,
  JsonObject,
  JsonValue,
  TimeoutStage,
} from '@fleetstream/domain';

// The Avro shapes of the command topics (schemas/command-*.avsc, device-command.avsc); enums are upper case there.

type Upper<T extends string> = Uppercase<T>;

export interface CommandRequestRecord {
  name: string;
  paramsJson: string;
  ttlMs: number;
  deliveryTimeoutMs: number;
  acceptanceTimeoutMs: number;
  executionTimeoutMs: number;
  maxAttempts: number;
  backoffInitialMs: number;
  backoffMaxMs: number;
  ordered: boolean;
  idempotencyKey: string | null;
  bodyHash: string;
}

export type CommandEventRecordType =
  | 'REQUESTED' | 'CANCELLATION_REQUESTED' | 'SENT' | 'RETRY_SCHEDULED' | 'DELIVERED' | 'ACCEPTED'
  | 'REJECTED' | 'SUCCEEDED' | 'FAILED' | 'TIMED_OUT' | 'EXPIRED' | 'CANCELLED';

/** fleet.commands (schemas/command-event.avsc). */
export interface CommandEventRecord {
  type: CommandEventRecordType;
  commandId: string;
  deviceId: string;
  at: number;
  attempt: number | null;
  retryAt: number | null;
  stage: Upper<TimeoutStage> | null;
  detail: string | null;
  resultJson: string | null;
  request: CommandRequestRecord | null;
  /** REQUESTED: who requested; CANCELLATION_REQUESTED, CANCELLED: who asked to cancel. Absent on a record written before it existed. */
  actor?: string | null;
}

/** fleet.command-state (schemas/command-state.avsc). */
export interface CommandStateSnapshot {
  commandId: string;
  deviceId: string;
  status: Upper<CommandStatus>;
  version: number;
  request: CommandRequestRecord;
  requestedAt: number;
  expiresAt: number;
  attempts: number;
  lastSentAt: number | null;
  retryAt: number | null;
  deadlineStage: Upper<TimeoutStage> | null;
  deadlineAt: number | null;
  updatedAt: number;
  detail: string | null;
  resultJson: string | null;
  /** Absent on a record written before they existed. */
  requestedBy?: string | null;
  cancelledBy?: string | null;
  history: { type: CommandEventRecordType; at: number; attempt: number | null; stage: Upper<TimeoutStage> | null; detail: string | null }[];
}

/** fleet.device-commands (schemas/device-command.avsc). */
export interface DeviceCommandRecord {
  action: 'EXECUTE' | 'CANCEL' | 'DESIRED_STATE';
  commandId: string;
  deviceId: string;
  name: string;
  paramsJson: string;
  attempt: number;
  sentAt: number;
  expiresAt: number | null;
  version: number | null;
}

/** fleet.device-acks (schemas/command-ack.avsc). */
export interface CommandAckRecord {
  commandId: string;
  deviceId: string;
  stage: Upper<AckStage>;
  attempt: number | null;
  detail: string | null;
  resultJson: string | null;
  at: number;
}

const EVENT_TYPES: Record<CommandEventType, CommandEventRecordType> = {
  CommandRequested: 'REQUESTED',
  CommandCancellationRequested: 'CANCELLATION_REQUESTED',
  CommandSent: 'SENT',
  CommandRetryScheduled: 'RETRY_SCHEDULED',
  CommandDelivered: 'DELIVERED',
  CommandAccepted: 'ACCEPTED',
  CommandRejected: 'REJECTED',
  CommandSucceeded: 'SUCCEEDED',
  CommandFailed: 'FAILED',
  CommandTimedOut: 'TIMED_OUT',
  CommandExpired: 'EXPIRED',
  CommandCancelled: 'CANCELLED',
};
const RECORD_TYPES = Object.fromEntries(Object.entries(EVENT_TYPES).map(([event, record]) => [record, event])) as Record<
  CommandEventRecordType,
  CommandEventType
>;

const upper = <T extends string>(value: T) => value.toUpperCase() as Upper<T>;
const lower = <T extends string>(value: Upper<T>) => value.toLowerCase() as T;
const jsonOrNull = (value: JsonValue | null) => (value === null ? null : JSON.stringify(value));
const parseOrNull = (json: string | null) => (json === null ? null : (JSON.parse(json) as JsonValue));

export function toCommandRequestRecord(request: CommandRequest): CommandRequestRecord {
  return {
    name: request.name,
    paramsJson: JSON.stringify(request.params),
    ttlMs: request.ttlMs,
    deliveryTimeoutMs: request.timeouts.deliveryMs,
    acceptanceTimeoutMs: request.timeouts.acceptanceMs,
    executionTimeoutMs: request.timeouts.executionMs,
    maxAttempts: request.maxAttempts,
    backoffInitialMs: request.backoff.initialMs,
    backoffMaxMs: request.backoff.maxMs,
    ordered: request.ordered,
    idempotencyKey: request.idempotencyKey,
    bodyHash: request.bodyHash,
  };
}

function fromCommandRequestRecord(commandId: string, deviceId: string, record: CommandRequestRecord, requestedBy: string | null | undefined): CommandRequest {
  return {
    commandId,
    deviceId,
    name: record.name,
    params: JSON.parse(record.paramsJson) as JsonObject,
    ttlMs: record.ttlMs,
    timeouts: { deliveryMs: record.deliveryTimeoutMs, acceptanceMs: record.acceptanceTimeoutMs, executionMs: record.executionTimeoutMs },
    maxAttempts: record.maxAttempts,
    backoff: { initialMs: record.backoffInitialMs, maxMs: record.backoffMaxMs },
    ordered: record.ordered,
    idempotencyKey: record.idempotencyKey,
    bodyHash: record.bodyHash,
    requestedBy: requestedBy ?? null,
  };
}

export function toCommandEventRecord(event: CommandEvent): CommandEventRecord {
  const data = event.data as Partial<{ attempt: number | null; retryAt: number; stage: TimeoutStage; detail: string | null; reason: string | null; result: JsonValue | null }>;
  return {
    type: EVENT_TYPES[event.type],
    commandId: event.data.commandId,
    deviceId: event.data.deviceId,
    at: event.metadata.at,
    attempt: data.attempt ?? null,
    retryAt: data.retryAt ?? null,
    stage: data.stage ? upper(data.stage) : null,
    detail: data.detail ?? data.reason ?? null,
    resultJson: event.type === 'CommandSucceeded' ? jsonOrNull(event.data.result) : null,
    request: event.type === 'CommandRequested' ? toCommandRequestRecord(event.data) : null,
    actor: actorOf(event),
  };
}

/** Who caused the event, for the events a caller causes; null for the rest. */
function actorOf(event: CommandEvent): string | null {
  switch (event.type) {
    case 'CommandRequested':
      return event.data.requestedBy;
    case 'CommandCancellationRequested':
    case 'CommandCancelled':
      return event.data.cancelledBy;
    default:
      return null;
  }
}

/** The event a record holds; throws with the offending field when the record is not a valid event. */
export function fromCommandEventRecord(record: CommandEventRecord): CommandEvent {
  const ids = { commandId: record.commandId, deviceId: record.deviceId };
  const metadata = { at: record.at };
  const need = <T>(value: T | null, field: string): T => {
    if (value === null) throw new Error(`${record.type} event for command ${record.commandId} has no ${field}`);
    return value;
  };
  const type = RECORD_TYPES[record.type];
  switch (type) {
    case 'CommandRequested':
      return { type, data: fromCommandRequestRecord(record.commandId, record.deviceId, need(record.request, 'request'), record.actor), metadata };
    case 'CommandCancellationRequested':
    case 'CommandCancelled':
      return { type, data: { ...ids, reason: record.detail, cancelledBy: record.actor ?? null }, metadata };
    case 'CommandSent':
      return { type, data: { ...ids, attempt: need(record.attempt, 'attempt') }, metadata };
    case 'CommandRetryScheduled':
      return { type, data: { ...ids, attempt: need(record.attempt, 'attempt'), retryAt: need(record.retryAt, 'retryAt') }, metadata };
    case 'CommandDelivered':
      return { type, data: { ...ids, attempt: record.attempt }, metadata };
    case 'CommandAccepted':
    case 'CommandExpired':
      return { type, data: ids, metadata };
    case 'CommandRejected':
    case 'CommandFailed':
      return { type, data: { ...ids, detail: record.detail }, metadata };
    case 'CommandSucceeded':
      return { type, data: { ...ids, result: parseOrNull(record.resultJson), detail: record.detail }, metadata };
    case 'CommandTimedOut':
      return { type, data: { ...ids, stage: lower<TimeoutStage>(need(record.stage, 'stage')) }, metadata };
  }
}

export function toCommandStateSnapshot(state: CommandState): CommandStateSnapshot {
  return {
    commandId: state.request.commandId,
    deviceId: state.request.deviceId,
    status: upper(state.status),
    version: state.version,
    request: toCommandRequestRecord(state.request),
    requestedAt: state.requestedAt,
    expiresAt: state.expiresAt,
    attempts: state.attempts,
    lastSentAt: state.lastSentAt,
    retryAt: state.retryAt,
    deadlineStage: state.stageDeadline ? upper(state.stageDeadline.stage) : null,
    deadlineAt: state.stageDeadline?.at ?? null,
    updatedAt: state.updatedAt,
    detail: state.detail,
    resultJson: jsonOrNull(state.result),
    requestedBy: state.request.requestedBy,
    cancelledBy: state.cancelledBy,
    history: state.history.map((entry) => ({ ...entry, type: EVENT_TYPES[entry.type], stage: entry.stage ? upper(entry.stage) : null })),
  };
}

export function fromCommandStateSnapshot(snapshot: CommandStateSnapshot): CommandState {
  const history: CommandHistoryEntry[] = snapshot.history.map((entry) => ({
    ...entry,
    type: RECORD_TYPES[entry.type],
    stage: entry.stage ? lower<TimeoutStage>(entry.stage) : null,
  }));
  return {
    request: fromCommandRequestRecord(snapshot.commandId, snapshot.deviceId, snapshot.request, snapshot.requestedBy),
    status: lower<CommandStatus>(snapshot.status),
    version: snapshot.version,
    requestedAt: snapshot.requestedAt,
    expiresAt: snapshot.expiresAt,
    attempts: snapshot.attempts,
    lastSentAt: snapshot.lastSentAt,
    retryAt: snapshot.retryAt,
    stageDeadline:
      snapshot.deadlineStage === null || snapshot.deadlineAt === null ? null : { stage: lower<TimeoutStage>(snapshot.deadlineStage), at: snapshot.deadlineAt },
    updatedAt: snapshot.updatedAt,
    detail: snapshot.detail,
    result: parseOrNull(snapshot.resultJson),
    cancelledBy: snapshot.cancelledBy ?? null,
    history,
  };
}

export function toDeviceCommandRecord(message: DeviceMessage, sentAt: number): DeviceCommandRecord {
  return {
    action: upper(message.action),
    commandId: message.commandId,
    deviceId: message.deviceId,
    name: message.name,
    paramsJson: JSON.stringify(message.params),
    attempt: message.attempt,
    sentAt,
    expiresAt: message.expiresAt,
    version: null,
  };
}

/** A device's acknowledgment as it goes on fleet.device-acks; `at` is the device's clock. */
export function toCommandAckRecord(ack: CommandAck, at: number): CommandAckRecord {
  return {
    commandId: ack.commandId,
    deviceId: ack.deviceId,
    stage: upper(ack.stage),
    attempt: ack.attempt,
    detail: ack.detail,
    resultJson: jsonOrNull(ack.result),
    at,
  };
}

export function fromCommandAckRecord(record: CommandAckRecord): CommandAck {
  return {
    commandId: record.commandId,
    deviceId: record.deviceId,
    stage: lower<AckStage>(record.stage),
    attempt: record.attempt,
    detail: record.detail,
    result: parseOrNull(record.resultJson),
  };
}

/** The event's name as REST and gateways see it: "sent", "timed_out", ... */
export function commandEventName(type: CommandEventType): string {
  return EVENT_TYPES[type].toLowerCase();
}

/** The DESIRED_STATE message that brings a device's desired state to it; one id per twin version, so a device can skip what it applied. */
export function toDesiredStateRecord(deviceId: string, desired: JsonObject, version: number, sentAt: number): DeviceCommandRecord {
  return {
    action: 'DESIRED_STATE',
    commandId: `desired:${deviceId}:${version}`,
    deviceId,
    name: 'desired-state',
    paramsJson: JSON.stringify(desired),
    attempt: 1,
    sentAt,
    expiresAt: null,
    version,
  };
}
