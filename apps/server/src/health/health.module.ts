import { Global, Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { DependenciesHealth } from './dependencies.health';
import { HealthController } from './health.controller';
import { ReadinessChecks } from './readiness-checks';
import { ViewsHealth } from './views.health';

/** /health and /ready; global so any feature can add a readiness check (ReadinessChecks). */
@Global()
@Module({
  imports: [TerminusModule],
  controllers: [HealthController],
  providers: [DependenciesHealth, ReadinessChecks, ViewsHealth],
  exports: [ReadinessChecks],
})
export class HealthModule {}
