import { Global, Module } from '@nestjs/common';
import { PrometheusModule } from '@willsoto/nestjs-prometheus';
import { MetricsController } from './metrics.controller';
import { ConsumerLagReader, consumerLagGauge } from './consumer-lag.metrics';
import { IngestMetrics, ingestMetricProviders } from './ingest.metrics';
import { IngestRate } from './ingest-rate';
import { ProcessorMonitor, processorMetricProviders } from './processor.metrics';
import { ViewMonitor, viewMetricProviders } from './view.metrics';

/** Prometheus `/metrics` (prom-client, with the Node.js process metrics) and the service's own figures. */
@Global()
@Module({
  imports: [PrometheusModule.register({ path: '/metrics', controller: MetricsController, defaultMetrics: { enabled: true } })],
  providers: [...ingestMetricProviders, IngestMetrics, IngestRate, ConsumerLagReader, consumerLagGauge, ...viewMetricProviders, ViewMonitor, ...processorMetricProviders, ProcessorMonitor],
  exports: [IngestMetrics, IngestRate, ConsumerLagReader, ViewMonitor, ProcessorMonitor],
})
export class MetricsModule {}
