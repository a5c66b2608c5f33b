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
 * What drives a command saga: the intent and cancellation events the REST API records, device
 * acknowledgments, and the passing of time. Time arrives in `metadata.now`; the saga never reads the clock.
 */
export type CommandSagaInput =
  | { type: 'CommandRequested'; data: CommandRequest; metadata: { now: number } }
  | { type: 'CommandCancellationRequested'; data: { commandId: string; deviceId: string; reason: string | null; cancelledBy: string | null }; metadata: { now: number } }
  | { type: 'DeviceAcknowledged'; data: CommandAck; metadata: { now: number } }
  | { type: 'TimePassed'; data: { deviceId: string }; metadata: { now: number } };
