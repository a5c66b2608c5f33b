import { Injectable } from '@nestjs/common';
import { HealthIndicatorService } from '@nestjs/terminus';
import { ReadinessChecks } from '../../health/readiness-checks';
import { NotificationsProcessor } from './notifications.processor';
import type { SinkNotifierStatus } from './sink-notifier';

/**
 * What keeps the notifiers from being ready, or null: a sink whose consumer does not run (Kafka
 * unreachable, a crash being restarted). A sink that fails deliveries is the receiver's trouble,
 * not this service's: it never makes /ready fail.
 */
export function notifiersProblem(sinks: readonly SinkNotifierStatus[]): string | null {
  const down = sinks.filter((sink) => !sink.running);
  if (down.length === 0) return null;
  return down.map((sink) => `the notifier of sink ${sink.sink} is not running: ${sink.problem ?? 'starting'}; it is restarted with backoff`).join('; ');
}

/** Readiness of the notifiers; each sink's retries are in the details. */
@Injectable()
export class NotificationsHealth {
  constructor(processor: NotificationsProcessor, readiness: ReadinessChecks, indicators: HealthIndicatorService) {
    readiness.add(() => {
      const check = indicators.check('notifications');
      const sinks = processor.status();
      if (!sinks) return check.up({ running: false, note: 'not run by this instance (PROCESSORS)' });
      const problem = notifiersProblem(sinks);
      return problem ? check.down({ message: problem, sinks }) : check.up({ sinks });
    });
  }
}
