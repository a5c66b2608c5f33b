import { Injectable } from '@nestjs/common';
import { HealthIndicatorService } from '@nestjs/terminus';
import { ReadinessChecks } from '../../health/readiness-checks';
import { NotificationsProcessor } from './notifications.processor';

/**
 * Readiness of the notifiers: down while a sink's consumer does not run (Kafka unreachable, a crash
 * being restarted). A sink that fails deliveries is the receiver's trouble, not this service's: it is
 * shown in the details and never makes /ready fail.
 */
@Injectable()
export class NotificationsHealth {
  constructor(processor: NotificationsProcessor, readiness: ReadinessChecks, indicators: HealthIndicatorService) {
    readiness.add(() => {
      const check = indicators.check('notifications');
      const sinks = processor.status();
      if (!sinks) return check.up({ running: false, note: 'not run by this instance (PROCESSORS)' });
      const down = sinks.filter((sink) => !sink.running);
      if (down.length > 0) {
        return check.down({ message: down.map((sink) => `the notifier of sink ${sink.sink} is not running: ${sink.problem ?? 'starting'}; it is restarted with backoff`).join('; '), sinks });
      }
      return check.up({ sinks });
    });
  }
}
