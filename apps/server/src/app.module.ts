import { Module } from '@nestjs/common';
import { HealthModule } from './health/health.module';
import { HistoryModule } from './history/history.module';
import { InfrastructureModule } from './infrastructure/infrastructure.module';
import { MetricsModule } from './metrics/metrics.module';

@Module({
  imports: [InfrastructureModule, MetricsModule, HealthModule, HistoryModule],
})
export class AppModule {}
