/** Why a notification went to the dead-letter topic (its `fleetstream.dlq.reason` header). */
export const NOTIFICATION_DEAD_LETTER_REASONS = ['attempts-exhausted', 'sink-refused'] as const;
export type NotificationDeadLetterReason = (typeof NOTIFICATION_DEAD_LETTER_REASONS)[number];

/** What happened to one notification on one sink, past tense. Its delivery state is the fold of these. */
export type NotificationDeliveryEvent =
  | { type: 'NotificationDelivered'; data: { attempt: number; status: number }; metadata: { at: number } }
  | { type: 'NotificationRetryScheduled'; data: { attempt: number; error: string; retryAt: number }; metadata: { at: number } }
  | { type: 'NotificationDeadLettered'; data: { attempts: number; reason: NotificationDeadLetterReason; error: string }; metadata: { at: number } };
