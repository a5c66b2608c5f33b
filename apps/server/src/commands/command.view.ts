import { CommandState, JsonObject, JsonValue } from '@fleetstream/domain';
import { commandEventName } from '@fleetstream/serde';

/** A command as the REST API shows it. */
export interface CommandView {
  commandId: string;
  deviceId: string;
  name: string;
  params: JsonObject;
  state: CommandState['status'];
  attempts: number;
  maxAttempts: number;
  ordered: boolean;
  /** Who requested and who cancelled the command (key:<name>, jwt:<subject>); null when not known or not cancelled. */
  requestedBy: string | null;
  cancelledBy: string | null;
  requestedAt: string;
  expiresAt: string;
  updatedAt: string;
  /** The acknowledgment awaited now and until when; or when the next send is due. */
  waitingFor: { stage: string; until: string } | null;
  retryAt: string | null;
  detail: string | null;
  result: JsonValue | null;
  history: { event: string; at: string; attempt: number | null; stage: string | null; detail: string | null }[];
}

const iso = (ms: number) => new Date(ms).toISOString();

export function commandView(state: CommandState): CommandView {
  const { request } = state;
  return {
    commandId: request.commandId,
    deviceId: request.deviceId,
    name: request.name,
    params: request.params,
    state: state.status,
    attempts: state.attempts,
    maxAttempts: request.maxAttempts,
    ordered: request.ordered,
    requestedBy: request.requestedBy,
    cancelledBy: state.cancelledBy,
    requestedAt: iso(state.requestedAt),
    expiresAt: iso(state.expiresAt),
    updatedAt: iso(state.updatedAt),
    waitingFor: state.stageDeadline ? { stage: state.stageDeadline.stage, until: iso(state.stageDeadline.at) } : null,
    retryAt: state.retryAt === null ? null : iso(state.retryAt),
    detail: state.detail,
    result: state.result,
    history: state.history.map((entry) => ({ event: commandEventName(entry.type), at: iso(entry.at), attempt: entry.attempt, stage: entry.stage, detail: entry.detail })),
  };
}
