import type { SkippedRecord, ViewRestore } from '@fleetstream/kafka';
import { Inject, Injectable } from '@nestjs/common';
import { InjectMetric, makeCounterProvider, makeGaugeProvider } from '@willsoto/nestjs-prometheus';
import type { Counter, Gauge } from 'prom-client';
import { StallWatch } from '../health/stall-watch';
import { AppConfig, fleetstreamConfig } from '../infrastructure/fleetstream.config';

const SKIPPED = 'fleetstream_view_skipped_records_total';
const LAG = 'fleetstream_view_lag_records';

/** What the monitor needs of a read model's view (a CompactedTopicView). */
export interface MonitoredView {
  readonly name: string;
  status(): { restore: ViewRestore; position: number; retrying: string | undefined };
  lag(): Promise<number>;
}

/** A view as /ready and /metrics see it. */
export interface ViewCondition {
  view: string;
  restore: ViewRestore;
  /** Records behind the end offsets; null when the broker did not answer (`lagError` says why). */
  lag: number | null;
  lagError?: string;
  stalledForMs: number;
  /** Behind and without progress for VIEW_STUCK_S. */
  stuck: boolean;
  /** The batch failing transiently right now, if any. */
  retrying?: string;
}

/**
 * The read models' views (twins, command state, …): each registers here, and the monitor counts the
 * records they skip, reads their lag and tells when one is stuck (behind with no progress).
 */
@Injectable()
export class ViewMonitor {
  private readonly views = new Map<string, { view: MonitoredView; watch: StallWatch }>();
  private readonly stuckMs: number;

  constructor(
    @Inject(fleetstreamConfig.KEY) config: AppConfig,
    @InjectMetric(SKIPPED) private readonly skippedRecords: Counter<'view' | 'reason'>,
  ) {
    this.stuckMs = config.VIEW_STUCK_S * 1000;
  }

  watch(view: MonitoredView): void {
    this.views.set(view.name, { view, watch: new StallWatch(this.stuckMs) });
  }

  /** For a view's `onSkip`. */
  readonly skipped = (skip: SkippedRecord): void => {
    this.skippedRecords.inc({ view: skip.view, reason: skip.reason });
  };

  /** Every view's condition now: its lag is read from the broker (end offsets), its position from the view. */
  async conditions(): Promise<ViewCondition[]> {
    return Promise.all(
      [...this.views.values()].map(async ({ view, watch }) => {
        const { restore, position, retrying } = view.status();
        const condition: ViewCondition = { view: view.name, restore, lag: null, stalledForMs: 0, stuck: false, ...(retrying && { retrying }) };
        try {
          condition.lag = await view.lag();
          Object.assign(condition, watch.observe(condition.lag, position));
        } catch (error) {
          // the broker is down: the Kafka check says so; the stall clock waits for a real sample
          condition.lagError = (error as Error).message;
        }
        return condition;
      }),
    );
  }
}

export const viewMetricProviders = [
  makeCounterProvider({
    name: SKIPPED,
    help: 'Records a read model skipped (kept the rest of its batch and moved past them), by view and reason',
    labelNames: ['view', 'reason'],
  }),
  makeGaugeProvider({
    name: LAG,
    help: 'Records between the end offsets of a read model\'s topic and the view\'s positions, summed over partitions',
    labelNames: ['view'],
    inject: [ViewMonitor],
    async collect(this: Gauge<'view'>, monitor: unknown) {
      for (const { view, lag } of await (monitor as ViewMonitor).conditions()) if (lag !== null) this.set({ view }, lag);
    },
  }),
];
