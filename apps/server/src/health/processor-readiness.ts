import type { BatchConsumerStatus, FailureStreak, ProcessorStatus } from '@fleetstream/kafka';
import type { HealthIndicatorService } from '@nestjs/terminus';

/** What keeps a processor from being ready, or null; `stuckMs` is PROCESSOR_STUCK_S. */
export function processorProblem(status: ProcessorStatus, stuckMs: number): string | null {
  const { name, running, problem, assigned, restored, stalled } = status;
  if (!running) return `the ${name} processor is not running: ${problem ?? 'starting'}; it is restarted with backoff`;
  const pending = assigned.filter((partition) => !restored.includes(partition));
  if (pending.length > 0) return `${name}: partitions ${pending.join(', ')} are still being restored`;
  const stuck = stalled.filter((streak) => streak.failingForMs >= stuckMs);
  if (stuck.length > 0) return stuck.map(({ partition, ...streak }) => stuckMessage(name, `the batch of partition ${partition}`, streak)).join('; ');
  return null;
}

/** What keeps a batch consumer (the history writer) from being ready, or null. */
export function batchConsumerProblem(status: BatchConsumerStatus, stuckMs: number): string | null {
  const { name, running, problem, failing } = status;
  if (!running) return `the ${name} consumer is not running: ${problem ?? 'starting'}; it is restarted with backoff`;
  if (failing && failing.failingForMs >= stuckMs) return stuckMessage(name, `the ${failing.stage} of its batch`, failing);
  return null;
}

function stuckMessage(name: string, what: string, { failingForMs, attempts, lastError }: FailureStreak): string {
  return `${name}: ${what} has been failing for ${Math.round(failingForMs / 1000)} s (${attempts} attempts; retried with backoff, consumption paused), last error: ${lastError}`;
}

/**
 * A processor's readiness: down while its consumer is not running (crashed, being restarted), a
 * partition it was assigned is not restored yet, or a partition's batch has been failing for
 * `stuckMs`; up when it runs or when this instance does not run it.
 */
export function processorReadiness(indicators: HealthIndicatorService, key: string, status: ProcessorStatus | undefined, stuckMs: number, extra: Record<string, unknown> = {}) {
  const check = indicators.check(key);
  if (!status) return notRunHere(check, extra);
  const { running, assigned, restored, stalled } = status;
  const details = { assigned, restored, ...(stalled.length > 0 && { stalled }) };
  const problem = processorProblem(status, stuckMs);
  return problem ? check.down({ message: problem, ...details }) : check.up({ running, ...details, ...extra });
}

/** A batch consumer's readiness (the history writer): like a processor's, its failing stage instead of partitions. */
export function batchConsumerReadiness(indicators: HealthIndicatorService, key: string, status: BatchConsumerStatus | undefined, stuckMs: number) {
  const check = indicators.check(key);
  if (!status) return notRunHere(check);
  const { running, failing } = status;
  const problem = batchConsumerProblem(status, stuckMs);
  return problem ? check.down({ message: problem, ...(failing && { failing }) }) : check.up({ running, ...(failing && { failing }) });
}

function notRunHere(check: ReturnType<HealthIndicatorService['check']>, extra: Record<string, unknown> = {}) {
  return check.up({ running: false, note: 'not run by this instance (PROCESSORS)', ...extra });
}
