import { ALERT_SEVERITIES, AlertSeverity, connectivityAt } from '@fleetstream/domain';
import { Inject, Injectable } from '@nestjs/common';
import { hostname } from 'node:os';
import { AlertStateReadModel } from '../alerts/alert-state-read-model';
import { AppConfig, fleetstreamConfig } from '../infrastructure/fleetstream.config';
import { ConsumerLagReader } from '../metrics/consumer-lag.metrics';
import { IngestRate } from '../metrics/ingest-rate';
import { TwinReadModel } from '../twins/twin-read-model';

/** The fleet page's header numbers. */
export interface FleetSummary {
  at: string;
  devices: { total: number; online: number; offline: number; silent: number };
  activeAlarms: Record<AlertSeverity, number>;
  ingest: {
    /** Telemetry records the history writer of `measuredBy` consumed per second over the last minute; null where it does not run. */
    recordsPerSecond: number | null;
    /** The instance that answered (host:pid): the rate is its own history writer's, not the fleet's. */
    measuredBy: string;
    /** Records each telemetry-reading group has still to read on fleet.telemetry (null: the broker did not answer). */
    lag: { group: string; records: number }[] | null;
  };
}

const INSTANCE = `${hostname()}:${process.pid}`;
/**
 * A summary this recent is the answer again: every open console asks every 15 s, and each count walks
 * every twin, so many consoles on a large fleet cost one walk per this long, not one per console.
 */
export const SUMMARY_REUSED_FOR_MS = 2_000;

/** Exact counts from the read models this instance holds, and the ingest figures it measures itself. */
@Injectable()
export class FleetSummaryService {
  private readonly silenceMs: number;
  private readonly runsHistory: boolean;

  constructor(
    @Inject(fleetstreamConfig.KEY) config: AppConfig,
    private readonly twins: TwinReadModel,
    private readonly alerts: AlertStateReadModel,
    private readonly ingestRate: IngestRate,
    private readonly lagReader: ConsumerLagReader,
  ) {
    this.silenceMs = config.TWIN_SILENCE_S * 1000;
    this.runsHistory = config.PROCESSORS.includes('history');
  }

  private recent: { at: number; summary: Promise<FleetSummary> } | undefined;

  summary(): Promise<FleetSummary> {
    const now = Date.now();
    if (this.recent && now - this.recent.at < SUMMARY_REUSED_FOR_MS) return this.recent.summary;
    const summary = this.counted(now);
    this.recent = { at: now, summary };
    return summary;
  }

  private async counted(now: number): Promise<FleetSummary> {
    const devices = { total: 0, online: 0, offline: 0, silent: 0 };
    for (const [, twin] of this.twins.scan()) {
      const connectivity = connectivityAt(twin, now, this.silenceMs);
      devices.total++;
      devices[connectivity.online ? 'online' : connectivity.source === 'silence' ? 'silent' : 'offline']++;
    }
    const activeAlarms = Object.fromEntries(ALERT_SEVERITIES.map((severity) => [severity, 0])) as Record<AlertSeverity, number>;
    for (const [, { state }] of this.alerts.all()) if (state.alarm && !state.alarm.cleared) activeAlarms[state.alarm.severity]++;
    const [recordsPerSecond, lag] = await Promise.all([this.runsHistory ? this.ingestRate.recordsPerSecond() : null, this.telemetryLag()]);
    return { at: new Date(now).toISOString(), devices, activeAlarms, ingest: { recordsPerSecond, measuredBy: INSTANCE, lag } };
  }

  private async telemetryLag(): Promise<FleetSummary['ingest']['lag']> {
    try {
      return (await this.lagReader.telemetryLag()).map(({ group, lag }) => ({ group, records: lag }));
    } catch {
      // the counts still answer while Kafka does not; /ready tells why
      return null;
    }
  }
}
