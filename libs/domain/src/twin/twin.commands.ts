import type { Telemetry } from '../telemetry/telemetry';

/** A JSON value as desired state holds it. */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };

/**
 * Commands to a twin. Time arrives in `metadata.now`: the decider never reads the clock. `actor` is
 * who asked (an authenticated caller such as key:<name> or jwt:<subject>); absent or null when not known.
 */
export type TwinCommand =
  | { type: 'RecordTelemetry'; data: Telemetry; metadata: { now: number } }
  | { type: 'PatchDesired'; data: { deviceId: string; patch: JsonObject; expectedVersion?: number; actor?: string | null }; metadata: { now: number; requestId: string } }
  | { type: 'ReportConnectivity'; data: { deviceId: string; online: boolean }; metadata: { now: number } }
  | { type: 'CheckSilence'; data: { deviceId: string }; metadata: { now: number } }
  | { type: 'RemoveDevice'; data: { deviceId: string; actor?: string | null }; metadata: { now: number } };
