import { Injectable } from '@nestjs/common';
import { ReadinessChecks } from '../health/readiness-checks';
import { AlertProcessor } from './alert.processor';

/** Readiness of the alert processor: its consumer runs, its assigned partitions' alerts are restored, and none keeps failing. */
@Injectable()
export class AlertsHealth {
  constructor(processor: AlertProcessor, readiness: ReadinessChecks) {
    readiness.addProcessor('alerts', () => processor.status());
  }
}
