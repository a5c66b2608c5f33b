import { Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { TwinsModule } from '../twins/twins.module';
import { DependenciesHealth } from './dependencies.health';
import { HealthController } from './health.controller';

@Module({
  imports: [TerminusModule, TwinsModule],
  controllers: [HealthController],
  providers: [DependenciesHealth],
})
export class HealthModule {}
