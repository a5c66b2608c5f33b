import type { ProcessorStatus } from '@fleetstream/kafka';
import type { HealthIndicatorService } from '@nestjs/terminus';

/**
 * A processor's readiness: down while its consumer is not running (crashed, being restarted) or a
 * partition it was assigned is not restored yet; up when it runs or when this instance does not run it.
 */
export function processorReadiness(indicators: HealthIndicatorService, key: string, status: ProcessorStatus | undefined, extra: Record<string, unknown> = {}) {
  const check = indicators.check(key);
  if (!status) return check.up({ running: false, note: 'not run by this instance (PROCESSORS)', ...extra });
  const { running, problem, assigned, restored } = status;
  if (!running) return check.down({ message: `the ${status.name} processor is not running: ${problem ?? 'starting'}; it is restarted with backoff`, assigned, restored });
  const pending = assigned.filter((partition) => !restored.includes(partition));
  if (pending.length > 0) return check.down({ message: `${status.name}: partitions ${pending.join(', ')} are still being restored`, assigned, restored });
  return check.up({ running, assigned, restored, ...extra });
}
