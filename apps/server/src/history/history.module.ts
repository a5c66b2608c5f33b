import { Module } from '@nestjs/common';
import { HistoryHealth } from './history.health';
import { HistoryWriterProcessor } from './history-writer.processor';
import { TelemetryController } from './telemetry.controller';

/** Telemetry history: the writer (Kafka → ClickHouse) and the read API. */
@Module({
  controllers: [TelemetryController],
  providers: [HistoryWriterProcessor, HistoryHealth],
  exports: [HistoryWriterProcessor],
})
export class HistoryModule {}
