import { Injectable } from '@nestjs/common';
import { ReadinessChecks } from '../health/readiness-checks';
import { HistoryWriterProcessor } from './history-writer.processor';

/** Readiness of the history writer: its consumer runs and no batch has been failing (say, ClickHouse refusing writes) for PROCESSOR_STUCK_S. */
@Injectable()
export class HistoryHealth {
  constructor(writer: HistoryWriterProcessor, readiness: ReadinessChecks) {
    readiness.addBatchConsumer('history', () => writer.status());
  }
}
