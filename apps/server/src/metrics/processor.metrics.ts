import type { BatchConsumerStatus, ProcessorStatus } from '@fleetstream/kafka';
import { Inject, Injectable } from '@nestjs/common';
import { makeCounterProvider, makeGaugeProvider } from '@willsoto/nestjs-prometheus';
import type { Counter, Gauge } from 'prom-client';
import { AppConfig, fleetstreamConfig } from '../infrastructure/fleetstream.config';

const FAILING_SECONDS = 'fleetstream_processor_failing_seconds';
const BATCH_RETRIES = 'fleetstream_processor_batch_retries_total';
const FORWARDED = 'fleetstream_processor_forwarded_records_total';

/** The history writer's batches span every partition it consumes: one label for all of them. */
export const ALL_PARTITIONS = 'all';

export type WatchedStatus = ProcessorStatus | BatchConsumerStatus;

/** Seconds each partition's batch has been failing (0 when it is not), as the gauge's partition labels. */
export function failingSeconds(status: WatchedStatus): { partition: string; seconds: number }[] {
  if ('stalled' in status) {
    const failing = new Map(status.stalled.map(({ partition, failingForMs }) => [partition, failingForMs / 1000]));
    return status.assigned.map((partition) => ({ partition: String(partition), seconds: failing.get(partition) ?? 0 }));
  }
  return [{ partition: ALL_PARTITIONS, seconds: (status.failing?.failingForMs ?? 0) / 1000 }];
}

/**
 * The processors this instance runs (twins, commands, history): each registers its status here, and
 * /metrics reports how long their batches have been failing and how often they were retried.
 */
@Injectable()
export class ProcessorMonitor {
  /** PROCESSOR_STUCK_S: a batch failing this long makes /ready fail. */
  readonly stuckMs: number;
  private readonly watched: (() => WatchedStatus | undefined)[] = [];
  /** The retries already counted, per processor: the counter grows by the difference. */
  private readonly countedRetries = new Map<string, number>();
  /** Forwarded records not yet added to the counter, per processor. */
  private readonly uncountedForwards = new Map<string, number>();

  constructor(@Inject(fleetstreamConfig.KEY) config: AppConfig) {
    this.stuckMs = config.PROCESSOR_STUCK_S * 1000;
  }

  /** `status` returns undefined while (or where) the processor does not run. */
  watch(status: () => WatchedStatus | undefined): void {
    this.watched.push(status);
  }

  statuses(): WatchedStatus[] {
    return this.watched.map((status) => status()).filter((status): status is WatchedStatus => status !== undefined);
  }

  collectFailing(gauge: Gauge<'processor' | 'partition'>): void {
    // partitions assigned elsewhere since the last scrape disappear
    gauge.reset();
    for (const status of this.statuses()) for (const { partition, seconds } of failingSeconds(status)) gauge.set({ processor: status.name, partition }, seconds);
  }

  collectRetries(counter: Counter<'processor'>): void {
    for (const { name, batchRetries } of this.statuses()) {
      const added = batchRetries - (this.countedRetries.get(name) ?? 0);
      // inc by 0 too: the series exists from the first scrape
      if (added >= 0) counter.inc({ processor: name }, added);
      this.countedRetries.set(name, batchRetries);
    }
  }

  /**
   * A processor committed the forwarding of `count` records its producers had placed on another
   * partition than their key's (0 when it starts: the series exists from the first scrape).
   */
  forwarded(processor: string, count: number): void {
    this.uncountedForwards.set(processor, (this.uncountedForwards.get(processor) ?? 0) + count);
  }

  collectForwarded(counter: Counter<'processor'>): void {
    for (const [processor, count] of this.uncountedForwards) {
      counter.inc({ processor }, count);
      this.uncountedForwards.set(processor, 0);
    }
  }
}

export const processorMetricProviders = [
  makeGaugeProvider({
    name: FAILING_SECONDS,
    help: `Seconds the batch of a processor partition has been failing (transient fault, retried with backoff), 0 when it is not; the history writer's is partition="${ALL_PARTITIONS}"`,
    labelNames: ['processor', 'partition'],
    inject: [ProcessorMonitor],
    collect(this: Gauge<'processor' | 'partition'>, monitor: unknown) {
      (monitor as ProcessorMonitor).collectFailing(this);
    },
  }),
  makeCounterProvider({
    name: BATCH_RETRIES,
    help: 'Failed batch attempts of a processor (each one retried with backoff)',
    labelNames: ['processor'],
    inject: [ProcessorMonitor],
    collect(this: Counter<'processor'>, monitor: unknown) {
      (monitor as ProcessorMonitor).collectRetries(this);
    },
  }),
  makeCounterProvider({
    name: FORWARDED,
    help: 'Records a processor forwarded through its repartition topic to the partition their key belongs to: their producer places records by another partitioner than murmur2 (librdkafka\'s CRC32 default, say)',
    labelNames: ['processor'],
    inject: [ProcessorMonitor],
    collect(this: Counter<'processor'>, monitor: unknown) {
      (monitor as ProcessorMonitor).collectForwarded(this);
    },
  }),
];
