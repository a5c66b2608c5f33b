import type { JsonValue } from '../twin/twin.commands';
import type { CommandRequest } from './command.commands';

export type TimeoutStage = 'delivery' | 'acceptance' | 'execution';

type Ids = { commandId: string; deviceId: string };
type At = { at: number };

/** What happened to a command, past tense, as recorded on fleet.commands. A command's state is the fold of these. */
export type CommandEvent =
  | { type: 'CommandRequested'; data: CommandRequest; metadata: At }
  | { type: 'CommandCancellationRequested'; data: Ids & { reason: string | null; cancelledBy: string | null }; metadata: At }
  | { type: 'CommandSent'; data: Ids & { attempt: number }; metadata: At }
  | { type: 'CommandRetryScheduled'; data: Ids & { attempt: number; retryAt: number }; metadata: At }
  | { type: 'CommandDelivered'; data: Ids & { attempt: number | null }; metadata: At }
  | { type: 'CommandAccepted'; data: Ids; metadata: At }
  | { type: 'CommandRejected'; data: Ids & { detail: string | null }; metadata: At }
  | { type: 'CommandSucceeded'; data: Ids & { result: JsonValue | null; detail: string | null }; metadata: At }
  | { type: 'CommandFailed'; data: Ids & { detail: string | null }; metadata: At }
  | { type: 'CommandTimedOut'; data: Ids & { stage: TimeoutStage }; metadata: At }
  | { type: 'CommandExpired'; data: Ids; metadata: At }
  | { type: 'CommandCancelled'; data: Ids & { reason: string | null; cancelledBy: string | null }; metadata: At };

export type CommandEventType = CommandEvent['type'];
