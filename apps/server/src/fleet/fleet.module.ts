import { Module } from '@nestjs/common';
import { AlertsModule } from '../alerts/alerts.module';
import { TwinsModule } from '../twins/twins.module';
import { FleetSummaryController } from './fleet-summary.controller';
import { FleetSummaryService } from './fleet-summary.service';

/** The fleet's header numbers over the twin and alert-state read models and the ingest metrics. */
@Module({
  imports: [TwinsModule, AlertsModule],
  controllers: [FleetSummaryController],
  providers: [FleetSummaryService],
})
export class FleetModule {}
