import { Injectable } from '@nestjs/common';
import { ReadinessChecks } from '../health/readiness-checks';
import { AlertHistoryProcessor } from './alert-history.processor';
import { HistoryWriterProcessor } from './history-writer.processor';

/** Readiness of the history writers (telemetry, alarms): each consumer runs and no batch has been failing (say, ClickHouse refusing writes) for PROCESSOR_STUCK_S. */
@Injectable()
export class HistoryHealth {
  constructor(writer: HistoryWriterProcessor, alerts: AlertHistoryProcessor, readiness: ReadinessChecks) {
    readiness.addBatchConsumer('history', () => writer.status());
    readiness.addBatchConsumer('alert-history', () => alerts.status());
  }
}
