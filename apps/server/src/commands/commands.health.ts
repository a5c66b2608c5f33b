import { Injectable } from '@nestjs/common';
import { HealthIndicatorService } from '@nestjs/terminus';
import { processorReadiness } from '../health/processor-readiness';
import { ReadinessChecks } from '../health/readiness-checks';
import { CommandSagaProcessor } from './command-saga.processor';

/** Readiness of the command saga: its consumer runs and its assigned partitions' open commands are restored. */
@Injectable()
export class CommandsHealth {
  constructor(
    private readonly indicators: HealthIndicatorService,
    private readonly saga: CommandSagaProcessor,
    readiness: ReadinessChecks,
  ) {
    readiness.add(() => processorReadiness(this.indicators, 'commands', this.saga.status()));
  }
}
