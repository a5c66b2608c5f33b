import { Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { AlertHistoryProcessor } from './alert-history.processor';
import { HistoryHealth } from './history.health';
import { HistoryReadsInterceptor } from './history-reads.interceptor';
import { HistoryTopologyHealth, historyWritersGauge } from './history-topology.health';
import { HistoryWriterProcessor } from './history-writer.processor';
import { DeadLettersController } from './dead-letters.controller';
import { TelemetryController } from './telemetry.controller';

/** Telemetry history: the writer (Kafka → ClickHouse), the read API, and where reads are answered with several instances. */
@Module({
  imports: [TerminusModule],
  controllers: [TelemetryController, DeadLettersController],
  providers: [HistoryWriterProcessor, AlertHistoryProcessor, HistoryHealth, HistoryTopologyHealth, historyWritersGauge, HistoryReadsInterceptor],
  exports: [HistoryWriterProcessor],
})
export class HistoryModule {}
