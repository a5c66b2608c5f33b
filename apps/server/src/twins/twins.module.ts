import { Module } from '@nestjs/common';
import { DeviceEventsPublisher } from './device-events.publisher';
import { TwinReadModel } from './twin-read-model';
import { TwinProcessor } from './twin.processor';
import { TwinsController } from './twins.controller';

/** Digital twins: the processor (telemetry + device events → fleet.twins), the read model and REST. */
@Module({
  controllers: [TwinsController],
  providers: [TwinReadModel, TwinProcessor, DeviceEventsPublisher],
  exports: [TwinReadModel],
})
export class TwinsModule {}
