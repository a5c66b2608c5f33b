import { Injectable } from '@nestjs/common';
import { HealthIndicatorService } from '@nestjs/terminus';
import { ViewCondition, ViewMonitor } from '../metrics/view.metrics';
import { ReadinessChecks } from './readiness-checks';

/** Why a view keeps the instance from being ready, or null. */
function notReady(condition: ViewCondition): string | null {
  if (condition.stuck) {
    const why = condition.retrying ?? 'no batch is failing: check the view\'s consumer in the log';
    return `${condition.view}: stuck ${condition.lag} records behind its topic with no progress for ${Math.round(condition.stalledForMs / 1000)} s; ${why}`;
  }
  if (condition.restore.state === 'restoring') return `${condition.view}: restoring, waiting for ${condition.restore.waitingFor}`;
  return null;
}

/** Readiness of the read models: each restored its topic up to the end offsets as of start, and none is stuck. */
@Injectable()
export class ViewsHealth {
  constructor(
    private readonly indicators: HealthIndicatorService,
    private readonly monitor: ViewMonitor,
    readiness: ReadinessChecks,
  ) {
    readiness.add(() => this.views());
  }

  async views() {
    const check = this.indicators.check('views');
    const conditions = await this.monitor.conditions();
    const details = Object.fromEntries(
      conditions.map(({ view, restore, lag, lagError, stalledForMs, retrying }) => [
        view,
        { restore: restore.state, ...(restore.state === 'restored' && { restoredInMs: restore.ms }), lag, ...(lagError && { lagError }), stalledForS: Math.round(stalledForMs / 1000), ...(retrying && { retrying }) },
      ]),
    );
    const problems = conditions.map(notReady).filter((problem): problem is string => problem !== null);
    return problems.length > 0 ? check.down({ message: problems.join('; '), ...details }) : check.up(details);
  }
}
