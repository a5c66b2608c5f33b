import { Module } from '@nestjs/common';
import { AlertAcknowledgmentsController } from './alert-acknowledgments.controller';
import { AlertAcknowledgmentsService } from './alert-acknowledgments.service';
import { AlertRulesModule } from './rules/alert-rules.module';
import { TwinsModule } from '../twins/twins.module';
import { alertMetricProviders } from './alert.metrics';
import { AlertProcessor } from './alert.processor';
import { AlertStateReadModel } from './alert-state-read-model';
import { AlertsHealth } from './alerts.health';
import { AlertsController } from './alerts.controller';
import { AlertsService } from './alerts.service';

/**
 * Alarms: the alert processor (telemetry → fleet.alerts and fleet.alert-state, where PROCESSORS
 * includes alerts), the alert-state read model and the alarm read routes over it. The rules come
 * from ALERT_RULE_CATALOG, which AlertRulesModule provides.
 */
@Module({
  imports: [TwinsModule, AlertRulesModule],
  controllers: [AlertsController, AlertAcknowledgmentsController],
  providers: [AlertsService, AlertAcknowledgmentsService, AlertStateReadModel, AlertProcessor, AlertsHealth, ...alertMetricProviders],
  exports: [AlertStateReadModel],
})
export class AlertsModule {}
