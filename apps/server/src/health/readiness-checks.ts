import type { BatchConsumerStatus, ProcessorStatus } from '@fleetstream/kafka';
import { Injectable } from '@nestjs/common';
import { HealthIndicatorService, type HealthIndicatorFunction } from '@nestjs/terminus';
import { ProcessorMonitor } from '../metrics/processor.metrics';
import { batchConsumerReadiness, processorReadiness } from './processor-readiness';

/**
 * The checks GET /ready runs besides the dependencies: a feature adds its own (say, a processor's
 * liveness) from its provider's constructor, without touching the health controller.
 */
@Injectable()
export class ReadinessChecks {
  private readonly checks: HealthIndicatorFunction[] = [];

  constructor(
    private readonly indicators: HealthIndicatorService,
    private readonly processors: ProcessorMonitor,
  ) {}

  add(check: HealthIndicatorFunction): void {
    this.checks.push(check);
  }

  /**
   * A processor's check (running, restored, no partition failing for PROCESSOR_STUCK_S) and its
   * /metrics figures. `status` returns undefined where this instance does not run the processor.
   */
  addProcessor(key: string, status: () => ProcessorStatus | undefined, extra: () => Record<string, unknown> = () => ({})): void {
    this.processors.watch(status);
    this.add(() => processorReadiness(this.indicators, key, status(), this.processors.stuckMs, extra()));
  }

  /** The same for a batch consumer (the history writer). */
  addBatchConsumer(key: string, status: () => BatchConsumerStatus | undefined): void {
    this.processors.watch(status);
    this.add(() => batchConsumerReadiness(this.indicators, key, status(), this.processors.stuckMs));
  }

  all(): readonly HealthIndicatorFunction[] {
    return this.checks;
  }
}
