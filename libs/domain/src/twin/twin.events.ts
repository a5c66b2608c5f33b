import type { JsonObject } from './twin.commands';

/** What happened to a twin, past tense. The twin is the fold of these. */
export type TwinEvent =
  | {
      type: 'TelemetryReported';
      data: { deviceId: string; eventTime: number; seq: number; metrics: Record<string, number>; attributes: Record<string, string> };
      metadata: { at: number };
    }
  | { type: 'DesiredPatched'; data: { deviceId: string; patch: JsonObject; actor: string | null }; metadata: { at: number; requestId: string } }
  | { type: 'DeviceConnected'; data: { deviceId: string; source: ConnectivitySource }; metadata: { at: number } }
  | { type: 'DeviceDisconnected'; data: { deviceId: string; source: ConnectivitySource }; metadata: { at: number } }
  | { type: 'DeviceRemoved'; data: { deviceId: string; actor: string | null }; metadata: { at: number } };

/** Who decided the device is on- or offline: its gateway, its own telemetry, or a silence timeout. */
export type ConnectivitySource = 'gateway' | 'telemetry' | 'silence';

/** Why a command was refused; the caller turns it into a 4xx. */
export type TwinRejection =
  | { type: 'VersionConflict'; expectedVersion: number; actualVersion: number }
  | { type: 'UnknownDevice'; deviceId: string }
  | { type: 'InvalidPatch'; reason: string }
  /** The desired state after the patch would exceed `maxDesiredBytes` (REST: 413). */
  | { type: 'DesiredTooLarge'; reason: 'desired-too-large'; error: string; bytes: number; limit: number }
  /** The reading would give the twin more than `maxReportedFields` reported fields; dead-lettered with this reason. */
  | { type: 'TwinTooLarge'; reason: 'twin-too-large'; error: string; fields: number; limit: number };
