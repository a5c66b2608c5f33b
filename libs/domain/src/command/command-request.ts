import type { CommandRequest } from './command.commands';

/**
 * Bounds every command request obeys, whoever wrote it (the REST API is stricter still). They keep
 * every deadline the saga derives — request time plus a duration — a whole number well inside what
 * an Avro long in a JavaScript number holds, so a hostile request on fleet.commands cannot make a
 * state that never encodes.
 */
export const COMMAND_REQUEST_LIMITS = {
  /** Longest time to live, stage timeout or backoff: one year. */
  maxDurationMs: 365 * 86_400_000,
  maxAttempts: 1000,
  maxCommandIdLength: 256,
} as const;

/** Why a command request breaks the bounds (naming the field), or null when it keeps them. */
export function commandRequestError(request: CommandRequest): string | null {
  const { maxDurationMs, maxAttempts, maxCommandIdLength } = COMMAND_REQUEST_LIMITS;
  if (request.commandId.length === 0 || request.commandId.length > maxCommandIdLength) {
    return `commandId is ${request.commandId.length} characters long; it must be 1 to ${maxCommandIdLength}`;
  }
  const durations: [string, number][] = [
    ['ttlMs', request.ttlMs],
    ['timeouts.deliveryMs', request.timeouts.deliveryMs],
    ['timeouts.acceptanceMs', request.timeouts.acceptanceMs],
    ['timeouts.executionMs', request.timeouts.executionMs],
    ['backoff.initialMs', request.backoff.initialMs],
    ['backoff.maxMs', request.backoff.maxMs],
  ];
  for (const [field, value] of durations) {
    if (!Number.isInteger(value) || value < 0 || value > maxDurationMs) return `${field} is ${value}; it must be a whole number of ms from 0 to ${maxDurationMs} (one year)`;
  }
  if (!Number.isInteger(request.maxAttempts) || request.maxAttempts < 1 || request.maxAttempts > maxAttempts) {
    return `maxAttempts is ${request.maxAttempts}; it must be 1 to ${maxAttempts}`;
  }
  if (request.params === null || typeof request.params !== 'object' || Array.isArray(request.params)) return 'params must be a JSON object';
  return null;
}
