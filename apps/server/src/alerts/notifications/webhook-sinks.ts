import type { AlertEventRecord } from '@fleetstream/serde';
import { createHash } from 'node:crypto';

/** A webhook that receives alert notifications. */
export interface WebhookSink {
  /** Stable across restarts and instances (its consumer group is named after it); never the URL, which may hold a token. */
  id: string;
  url: string;
  secret: string;
}

/** A sink's id: the first 16 hex digits of the SHA-256 of its URL. */
export function sinkIdOf(url: string): string {
  return createHash('sha256').update(url).digest('hex').slice(0, 16);
}

export function webhookSink(settings: { url: string; secret: string }): WebhookSink {
  return { id: sinkIdOf(settings.url), url: settings.url, secret: settings.secret };
}

/**
 * Which sinks an alert event goes to. Each sink in `all()` gets its own consumer group on fleet.alerts
 * and delivers the events whose `sinksFor` names it. Global sinks (ALERT_WEBHOOKS) get every event;
 * per-rule sinks will join through this seam.
 */
export interface NotificationSinks {
  all(): readonly WebhookSink[];
  sinksFor(event: AlertEventRecord): readonly WebhookSink[];
}

/** The global sinks of ALERT_WEBHOOKS: every event to each of them. */
export class GlobalWebhookSinks implements NotificationSinks {
  private readonly sinks: readonly WebhookSink[];

  constructor(settings: readonly { url: string; secret: string }[]) {
    this.sinks = settings.map(webhookSink);
  }

  all(): readonly WebhookSink[] {
    return this.sinks;
  }

  sinksFor(): readonly WebhookSink[] {
    return this.sinks;
  }
}
