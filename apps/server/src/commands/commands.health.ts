import { Injectable } from '@nestjs/common';
import { ReadinessChecks } from '../health/readiness-checks';
import { CommandSagaProcessor } from './command-saga.processor';

/** Readiness of the command saga: its consumer runs, its assigned partitions' open commands are restored, and none keeps failing. */
@Injectable()
export class CommandsHealth {
  constructor(saga: CommandSagaProcessor, readiness: ReadinessChecks) {
    readiness.addProcessor('commands', () => saga.status());
  }
}
