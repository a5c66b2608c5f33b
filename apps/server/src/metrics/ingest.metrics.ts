import type { BatchOutcome } from '@fleetstream/history';
import { Injectable } from '@nestjs/common';
import { InjectMetric, makeCounterProvider, makeHistogramProvider } from '@willsoto/nestjs-prometheus';
import { Counter, Histogram } from 'prom-client';

export const RECORDS = 'fleetstream_telemetry_records_total';
const DEAD_LETTERED = 'fleetstream_telemetry_dead_lettered_total';
const BATCH_SIZE = 'fleetstream_history_batch_records';
const BATCH_SECONDS = 'fleetstream_history_batch_seconds';
const BATCH_FAILURES = 'fleetstream_history_batch_failures_total';

export const ingestMetricProviders = [
  makeCounterProvider({ name: RECORDS, help: 'Telemetry records handled by the history writer, by outcome', labelNames: ['outcome'] }),
  makeCounterProvider({ name: DEAD_LETTERED, help: 'Telemetry records sent to the dead-letter topic, by reason', labelNames: ['reason'] }),
  makeHistogramProvider({ name: BATCH_SIZE, help: 'Records per history batch', buckets: [1, 10, 100, 1000, 5000, 10000, 50000] }),
  makeHistogramProvider({ name: BATCH_SECONDS, help: 'Time to decode, validate and write one batch', buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10] }),
  makeCounterProvider({ name: BATCH_FAILURES, help: 'History batches that failed and were retried (ClickHouse, registry or Kafka unavailable)' }),
];

/** Prometheus figures of the ingest path. */
@Injectable()
export class IngestMetrics {
  constructor(
    @InjectMetric(RECORDS) private readonly records: Counter<'outcome'>,
    @InjectMetric(DEAD_LETTERED) private readonly deadLettered: Counter<'reason'>,
    @InjectMetric(BATCH_SIZE) private readonly batchSize: Histogram,
    @InjectMetric(BATCH_SECONDS) private readonly batchSeconds: Histogram,
    @InjectMetric(BATCH_FAILURES) private readonly batchFailures: Counter,
  ) {}

  batchWritten(size: number, seconds: number, outcome: BatchOutcome): void {
    this.batchSize.observe(size);
    this.batchSeconds.observe(seconds);
    this.records.inc({ outcome: 'stored' }, outcome.stored);
    this.records.inc({ outcome: 'dead_lettered' }, outcome.deadLettered);
    this.records.inc({ outcome: 'skipped_already_stored' }, outcome.skipped);
    for (const [reason, count] of Object.entries(outcome.deadLetteredByReason)) this.deadLettered.inc({ reason }, count);
  }

  batchFailed(): void {
    this.batchFailures.inc();
  }
}
