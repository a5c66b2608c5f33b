import { Module } from '@nestjs/common';
import { HealthModule } from './health/health.module';
import { HistoryModule } from './history/history.module';
import { InfrastructureModule } from './infrastructure/infrastructure.module';

@Module({
  imports: [InfrastructureModule, HealthModule, HistoryModule],
})
export class AppModule {}
