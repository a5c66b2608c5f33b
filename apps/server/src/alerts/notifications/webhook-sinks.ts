import type { AlertEventRecord } from '@fleetstream/serde';
import { createHash } from 'node:crypto';

/** Which alarms a sink gets: every one, or those of the rules whose `notify` names it. */
export type WebhookSinkScope = 'global' | 'rule';

/** A webhook that receives alert notifications (an ALERT_WEBHOOKS entry). */
export interface WebhookSink {
  /** Stable across restarts and instances (its consumer group is named after it); never the URL, which may hold a token. */
  id: string;
  /** What rules call it in `notify`; unnamed global sinks are reached by no rule in particular. */
  name?: string;
  scope: WebhookSinkScope;
  url: string;
  secret: string;
}

/** An ALERT_WEBHOOKS entry as the config parsed it. */
export interface WebhookSinkSettings {
  url: string;
  secret: string;
  name?: string;
  scope: WebhookSinkScope;
}

/** A sink's id: the first 16 hex digits of the SHA-256 of its URL (naming a sink later keeps its consumer group). */
export function sinkIdOf(url: string): string {
  return createHash('sha256').update(url).digest('hex').slice(0, 16);
}

export function webhookSink({ url, secret, name, scope }: WebhookSinkSettings): WebhookSink {
  return { id: sinkIdOf(url), ...(name !== undefined && { name }), scope, url, secret };
}

/**
 * Which sinks an alert event goes to. Each sink in `all()` gets its own consumer group on fleet.alerts
 * and delivers the events whose `sinksFor` names it.
 */
export interface NotificationSinks {
  all(): readonly WebhookSink[];
  sinksFor(event: AlertEventRecord): readonly WebhookSink[];
}

/**
 * The sinks of ALERT_WEBHOOKS: every event goes to each global sink, and to the sinks its rule named
 * (`event.notify`), each sink once. A name the config no longer has (the sink was removed after the
 * alarm was raised) is skipped: `unknownSink` hears of it once per name.
 */
export class ConfiguredWebhookSinks implements NotificationSinks {
  private readonly sinks: readonly WebhookSink[];
  private readonly global: readonly WebhookSink[];
  private readonly byName: ReadonlyMap<string, WebhookSink>;
  private readonly unknownNames = new Set<string>();

  constructor(
    settings: readonly WebhookSinkSettings[],
    private readonly unknownSink: (name: string) => void = () => undefined,
  ) {
    this.sinks = settings.map(webhookSink);
    this.global = this.sinks.filter((sink) => sink.scope === 'global');
    this.byName = new Map(this.sinks.flatMap((sink) => (sink.name === undefined ? [] : [[sink.name, sink] as const])));
  }

  all(): readonly WebhookSink[] {
    return this.sinks;
  }

  sinksFor(event: Pick<AlertEventRecord, 'notify'>): readonly WebhookSink[] {
    const sinks = new Set(this.global);
    for (const name of event.notify) {
      const sink = this.byName.get(name);
      if (sink) sinks.add(sink);
      else if (!this.unknownNames.has(name)) {
        this.unknownNames.add(name);
        this.unknownSink(name);
      }
    }
    return [...sinks];
  }
}
