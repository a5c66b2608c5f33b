import type { JsonObject, JsonValue } from '../twin/twin.commands';

/** How long each acknowledgment stage may take before the command times out (or, for delivery, is retried). */
export interface StageTimeouts {
  deliveryMs: number;
  acceptanceMs: number;
  executionMs: number;
}

/** An operator's intent, as recorded by the REST API: what to run on which device, and the rules for trying. */
export interface CommandRequest {
  commandId: string;
  deviceId: string;
  name: string;
  params: JsonObject;
  /** From the request; a command not delivered by then expires. */
  ttlMs: number;
  timeouts: StageTimeouts;
  /** Sends in total, the first one included. */
  maxAttempts: number;
  /** Exponential backoff between sends whose delivery was not acknowledged. */
  backoff: { initialMs: number; maxMs: number };
  /** Ordered commands of one device run one after another, in request order; unordered ones do not wait. */
  ordered: boolean;
  idempotencyKey: string | null;
  /** Hash of the request body; the same idempotency key with another body is a conflict. */
  bodyHash: string;
  /** Who asked (an authenticated caller such as key:<name> or jwt:<subject>); null when not known. Not part of the body hash: a repeat by someone else is still the same command. */
  requestedBy: string | null;
}

/** Stages a device (or its gateway) acknowledges on fleet.device-acks. */
export type AckStage = 'delivered' | 'accepted' | 'rejected' | 'succeeded' | 'failed';

export interface CommandAck {
  commandId: string;
  deviceId: string;
  stage: AckStage;
  /** The send the device answers, when it says. */
  attempt: number | null;
  detail: string | null;
  result: JsonValue | null;
}

/**
 * Time, and whether the device is reachable at that time (from its twin): the saga sends only to an
 * online device. Both arrive with the command; the saga never reads the clock.
 */
export type CommandSagaMetadata = { now: number; deviceOnline: boolean };

/**
 * What a device's command saga is asked to do: start a command the REST API recorded as requested,
 * cancel one, take a device acknowledgment into account, or check its deadlines (the timer fired).
 */
export type CommandSagaCommand =
  | { type: 'StartCommand'; data: CommandRequest; metadata: CommandSagaMetadata }
  | { type: 'CancelCommand'; data: { commandId: string; deviceId: string; reason: string | null; cancelledBy: string | null }; metadata: CommandSagaMetadata }
  | { type: 'RecordAcknowledgment'; data: CommandAck; metadata: CommandSagaMetadata }
  | { type: 'CheckDeadlines'; data: { deviceId: string }; metadata: CommandSagaMetadata };
