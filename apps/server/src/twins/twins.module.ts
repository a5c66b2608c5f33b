import { Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { makeGaugeProvider } from '@willsoto/nestjs-prometheus';
import type { Gauge } from 'prom-client';
import { DeviceEventsPublisher } from './device-events.publisher';
import { TwinPatchOutcomes } from './twin-patch-outcomes';
import { TwinReadModel } from './twin-read-model';
import { TwinProcessor } from './twin.processor';
import { TwinsController } from './twins.controller';
import { TwinsHealth } from './twins.health';
import { TwinsService } from './twins.service';

/** Digital twins: the processor (telemetry + device events → fleet.twins), the read model and REST. */
const twinsGauge = makeGaugeProvider({
  name: 'fleetstream_twins',
  help: 'Twins in this instance\'s read model (devices not removed)',
  inject: [TwinReadModel],
  collect(this: Gauge, readModel: unknown) {
    this.set((readModel as TwinReadModel).count);
  },
});

@Module({
  imports: [TerminusModule],
  controllers: [TwinsController],
  providers: [TwinReadModel, TwinPatchOutcomes, TwinProcessor, DeviceEventsPublisher, TwinsService, TwinsHealth, twinsGauge],
  exports: [TwinReadModel, TwinsHealth, TwinProcessor],
})
export class TwinsModule {}
