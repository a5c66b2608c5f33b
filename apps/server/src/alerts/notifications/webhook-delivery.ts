import type { AttemptOutcome } from '@fleetstream/domain';
import { outcomeOfStatus } from '@fleetstream/domain';
import type { AlertEventRecord } from '@fleetstream/serde';
import { createHmac } from 'node:crypto';
import type { WebhookSink } from './webhook-sinks';

/** The headers of a webhook delivery (HTTP header names are case-insensitive; receivers see them lower-cased). */
export const WEBHOOK_HEADERS = {
  /** Stable across retries, restarts and re-drives: `<alarmId>:<raised|acknowledged|cleared>`. */
  idempotencyKey: 'Idempotency-Key',
  /** AlertRaised, AlertAcknowledged or AlertCleared. */
  event: 'X-Fleetstream-Event',
  /** Unix seconds when this attempt was signed: a receiver refuses old ones (replays). */
  timestamp: 'X-Fleetstream-Timestamp',
  /** `sha256=` + hex HMAC-SHA256, keyed with the sink's secret, of `<timestamp>.<body>`. */
  signature: 'X-Fleetstream-Signature',
  /** 1 for the first attempt of this process on this notification. */
  attempt: 'X-Fleetstream-Attempt',
  /** The sink's name in ALERT_WEBHOOKS (its id when unnamed): one receiver behind several sinks tells them apart. */
  sink: 'X-Fleetstream-Sink',
} as const;

const EVENT_NAMES = { RAISED: 'AlertRaised', ACKNOWLEDGED: 'AlertAcknowledged', CLEARED: 'AlertCleared' } as const;

const isoOrNull = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

/** The same for every attempt and every sink: the key receivers deduplicate on. */
export function idempotencyKey(event: Pick<AlertEventRecord, 'alarmId' | 'type'>): string {
  return `${event.alarmId}:${event.type.toLowerCase()}`;
}

/** The JSON body a webhook receives for an alert event. */
export function notificationBody(event: AlertEventRecord): string {
  return JSON.stringify({
    id: idempotencyKey(event),
    type: EVENT_NAMES[event.type],
    alarmId: event.alarmId,
    ruleId: event.ruleId,
    ruleName: event.ruleName,
    severity: event.severity,
    deviceId: event.deviceId,
    at: new Date(event.at).toISOString(),
    metric: event.metric,
    value: event.value,
    readingEventTime: isoOrNull(event.readingEventTime),
    readingSeq: event.readingSeq,
    reason: event.reason,
    actor: event.actor,
    note: event.note,
  });
}

/** `sha256=<hex>`: the HMAC-SHA256 of `<timestamp>.<body>` with the sink's secret. */
export function signatureOf(secret: string, timestampSeconds: number, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestampSeconds}.${body}`).digest('hex')}`;
}

/** One notification, ready to be sent: the same body and key on every attempt. */
export interface Notification {
  event: AlertEventRecord;
  body: string;
  idempotencyKey: string;
}

export function notificationOf(event: AlertEventRecord): Notification {
  return { event, body: notificationBody(event), idempotencyKey: idempotencyKey(event) };
}

/**
 * One delivery attempt: POST of the signed body, within `timeoutMs`. Redirects are not followed
 * (the signature is for this receiver). Never throws: every failure is an outcome. An abort by
 * `cancel` (the service stopping) does throw, so the caller leaves the offset uncommitted.
 */
export async function attemptDelivery(sink: WebhookSink, notification: Notification, attempt: number, timeoutMs: number, cancel: AbortSignal, now = Date.now()): Promise<AttemptOutcome> {
  const timestamp = Math.floor(now / 1000);
  try {
    const response = await fetch(sink.url, {
      method: 'POST',
      redirect: 'manual',
      signal: AbortSignal.any([AbortSignal.timeout(timeoutMs), cancel]),
      headers: {
        'content-type': 'application/json',
        'user-agent': 'fleetstream-notifier',
        [WEBHOOK_HEADERS.idempotencyKey]: notification.idempotencyKey,
        [WEBHOOK_HEADERS.event]: EVENT_NAMES[notification.event.type],
        [WEBHOOK_HEADERS.timestamp]: String(timestamp),
        [WEBHOOK_HEADERS.signature]: signatureOf(sink.secret, timestamp, notification.body),
        [WEBHOOK_HEADERS.attempt]: String(attempt),
        [WEBHOOK_HEADERS.sink]: sink.name ?? sink.id,
      },
      body: notification.body,
    });
    // the answer's body is not used; reading it (within the timeout) frees the connection for reuse
    await response.arrayBuffer();
    return outcomeOfStatus(response.status);
  } catch (error) {
    if (cancel.aborted) throw error;
    const cause = (error as Error & { cause?: Error }).cause;
    if ((error as Error).name === 'TimeoutError') return { kind: 'failed', error: `no answer within ${timeoutMs} ms` };
    return { kind: 'failed', error: `${(error as Error).message}${cause ? ` (${cause.message})` : ''}` };
  }
}
