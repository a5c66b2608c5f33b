import { ALERT_SEVERITIES } from '@fleetstream/domain';
import { makeCounterProvider, makeGaugeProvider } from '@willsoto/nestjs-prometheus';
import type { Counter, Gauge } from 'prom-client';
import { AlertProcessor } from './alert.processor';

export const alertMetricProviders = [
  makeGaugeProvider({
    name: 'fleetstream_alerts_active',
    help: 'Active alarms of the partitions this instance\'s alert processor owns, by severity',
    labelNames: ['severity'],
    inject: [AlertProcessor],
    collect(this: Gauge<'severity'>, processor: unknown) {
      const counts = (processor as AlertProcessor).activeBySeverity();
      for (const severity of ALERT_SEVERITIES) this.set({ severity }, counts.get(severity) ?? 0);
    },
  }),
  makeCounterProvider({
    name: 'fleetstream_alert_evaluations_total',
    help: 'Readings the alert processor evaluated against a rule (one reading, two rules: two), committed',
    inject: [AlertProcessor],
    collect(this: Counter, processor: unknown) {
      // inc by 0 too: the series exists from the first scrape
      this.inc((processor as AlertProcessor).takeEvaluations());
    },
  }),
];
