import { Module } from '@nestjs/common';
import { CommandsModule } from './commands/commands.module';
import { HealthModule } from './health/health.module';
import { HistoryModule } from './history/history.module';
import { InfrastructureModule } from './infrastructure/infrastructure.module';
import { MetricsModule } from './metrics/metrics.module';
import { TwinsModule } from './twins/twins.module';

@Module({
  imports: [InfrastructureModule, MetricsModule, HealthModule, HistoryModule, TwinsModule, CommandsModule],
})
export class AppModule {}
