import { Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { DependenciesHealth } from './dependencies.health';
import { HealthController } from './health.controller';
import { TwinsModule } from '../twins/twins.module';

@Module({
  imports: [TerminusModule, TwinsModule],
  controllers: [HealthController],
  providers: [DependenciesHealth],
})
export class HealthModule {}
