/** How one attempt to deliver a notification to a sink ended. */
export type AttemptOutcome =
  /** A 2xx answer: the receiver has it. */
  | { kind: 'accepted'; status: number }
  /** Worth trying again: a 5xx, 408 or 429, a timeout, a refused or reset connection. */
  | { kind: 'failed'; error: string }
  /** The receiver refused it for good (any other 4xx, a redirect): retrying would get the same answer. */
  | { kind: 'refused'; status: number; error: string };

/** What the notifier tells the delivery decider, imperative. */
export type NotificationDeliveryCommand = {
  type: 'RecordAttempt';
  data: { outcome: AttemptOutcome };
  metadata: { at: number };
};

/** What an HTTP answer means for the delivery: 2xx accepted; 408, 429 and 5xx worth retrying; anything else refused. */
export function outcomeOfStatus(status: number): AttemptOutcome {
  if (status >= 200 && status < 300) return { kind: 'accepted', status };
  const error = `HTTP ${status}`;
  if (status === 408 || status === 429 || status >= 500) return { kind: 'failed', error };
  return { kind: 'refused', status, error };
}
