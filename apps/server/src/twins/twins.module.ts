import { Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { DeviceEventsPublisher } from './device-events.publisher';
import { TwinReadModel } from './twin-read-model';
import { TwinProcessor } from './twin.processor';
import { TwinsController } from './twins.controller';
import { TwinsHealth } from './twins.health';

/** Digital twins: the processor (telemetry + device events → fleet.twins), the read model and REST. */
@Module({
  imports: [TerminusModule],
  controllers: [TwinsController],
  providers: [TwinReadModel, TwinProcessor, DeviceEventsPublisher, TwinsHealth],
  exports: [TwinReadModel, TwinsHealth],
})
export class TwinsModule {}
