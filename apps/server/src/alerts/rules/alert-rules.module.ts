import { Module } from '@nestjs/common';
import { ALERT_RULE_CATALOG } from '../alert-rule-catalog';
import { AlertRulesController } from './alert-rules.controller';
import { AlertRulesReadModel } from './alert-rules.read-model';
import { AlertRulesService } from './alert-rules.service';

/** Alert rules as data: the REST routes, their writes to fleet.alert-rules and the catalog every instance reads from it. */
@Module({
  controllers: [AlertRulesController],
  providers: [AlertRulesReadModel, { provide: ALERT_RULE_CATALOG, useExisting: AlertRulesReadModel }, AlertRulesService],
  exports: [ALERT_RULE_CATALOG],
})
export class AlertRulesModule {}
