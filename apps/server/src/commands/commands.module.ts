import { Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { TwinsModule } from '../twins/twins.module';
import { CommandSagaProcessor } from './command-saga.processor';
import { CommandStateReadModel } from './command-state-read-model';
import { commandsGauge } from './command.metrics';
import { CommandsController } from './commands.controller';
import { CommandsHealth } from './commands.health';
import { CommandsService } from './commands.service';

/** Commands as events: REST intent, the saga (fleet.commands + fleet.device-acks → device commands and states), the read model. */
@Module({
  imports: [TwinsModule, TerminusModule],
  controllers: [CommandsController],
  providers: [CommandStateReadModel, CommandsService, CommandSagaProcessor, CommandsHealth, commandsGauge],
})
export class CommandsModule {}
