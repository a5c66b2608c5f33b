import equal from 'fast-deep-equal';
import { apply as applyMergePatch } from 'json-merge-patch';
import type { Decider, Decision } from '../decider';
import { exhaustive } from '../exhaustive';
import type { JsonObject, JsonValue, TwinCommand } from './twin.commands';
import type { ConnectivitySource, TwinEvent, TwinRejection } from './twin.events';

export interface ReportedValue {
  value: number | string;
  /** Event time of the reading that set it (epoch ms). */
  at: number;
}

/** A device's digital twin: what it reported, what operators want, and whether it is reachable. */
export interface DeviceTwin {
  deviceId: string;
  /** Increases by one with every change; the REST ETag. 0 = never seen. */
  version: number;
  reported: Record<string, ReportedValue>;
  desired: JsonObject;
  /** When desired state last changed, and who changed it (null: not known); kept until the device is removed. */
  desiredChangedAt: number | null;
  desiredChangedBy: string | null;
  firstSeen: number | null;
  lastSeen: number | null;
  /** Highest (eventTime, seq) applied, so a duplicate reading changes nothing. */
  lastReading: { eventTime: number; seq: number } | null;
  connectivity: { online: boolean; since: number | null; source: ConnectivitySource | null };
  removed: boolean;
}

export interface TwinSettings {
  /** A device not heard from for this long is offline, unless its gateway reports connectivity. */
  silenceMs: number;
  /** Largest accepted desired-state patch, in bytes of JSON. */
  maxPatchBytes: number;
  /** Largest desired state after a patch, in bytes of JSON (UTF-8) of the whole object. */
  maxDesiredBytes: number;
  /** Most reported fields (metric and attribute names together) one twin holds. */
  maxReportedFields: number;
}

export function initialTwin(deviceId: string): DeviceTwin {
  return {
    deviceId,
    version: 0,
    reported: {},
    desired: {},
    desiredChangedAt: null,
    desiredChangedBy: null,
    firstSeen: null,
    lastSeen: null,
    lastReading: null,
    connectivity: { online: false, since: null, source: null },
    removed: false,
  };
}

export type TwinDecision = Decision<TwinEvent, TwinRejection>;

/** What a command means for the twin: the events to record, none when it changes nothing, or a refusal. */
export function decide(command: TwinCommand, twin: DeviceTwin, settings: TwinSettings): TwinDecision {
  switch (command.type) {
    case 'RecordTelemetry': {
      const reading = command.data;
      const last = twin.lastReading;
      if (!twin.removed && last && last.eventTime === reading.eventTime && last.seq === reading.seq) return { events: [] };
      const connectivitySettled = twin.connectivity.online || twin.connectivity.source === 'gateway';
      if (!twin.removed && !changesReported(twin, reading) && (twin.lastSeen ?? 0) >= reading.eventTime && connectivitySettled) {
        return { events: [] }; // an older or duplicate reading that sets nothing new
      }
      const tooLarge = reportedFieldsRejection(twin, reading, settings.maxReportedFields);
      if (tooLarge) return { rejection: tooLarge };
      const events: TwinEvent[] = [{ type: 'TelemetryReported', data: { ...reading }, metadata: { at: command.metadata.now } }];
      if (!twin.connectivity.online && twin.connectivity.source !== 'gateway') {
        events.push({ type: 'DeviceConnected', data: { deviceId: reading.deviceId, source: 'telemetry' }, metadata: { at: command.metadata.now } });
      }
      return { events };
    }
    case 'PatchDesired': {
      const { deviceId, patch, expectedVersion, actor = null } = command.data;
      if (expectedVersion !== undefined && expectedVersion !== twin.version) {
        return { rejection: { type: 'VersionConflict', expectedVersion, actualVersion: twin.version } };
      }
      if (patch === null || typeof patch !== 'object' || Array.isArray(patch)) {
        return { rejection: { type: 'InvalidPatch', reason: 'a desired-state patch is a JSON object (RFC 7386 merge patch)' } };
      }
      const bytes = JSON.stringify(patch).length;
      if (bytes > settings.maxPatchBytes) {
        return { rejection: { type: 'InvalidPatch', reason: `patch is ${bytes} bytes; the limit is ${settings.maxPatchBytes}` } };
      }
      const merged = mergeDesired(twin.desired, patch);
      if (equal(merged, twin.desired)) return { events: [] };
      const mergedBytes = jsonBytes(merged);
      // a twin already over a lowered cap may still shrink
      if (mergedBytes > settings.maxDesiredBytes && mergedBytes > jsonBytes(twin.desired)) {
        const error = `desired state would be ${mergedBytes} bytes of JSON after this patch; the limit is ${settings.maxDesiredBytes} (TWIN_MAX_DESIRED_BYTES): remove keys (null) or send less`;
        return { rejection: { type: 'DesiredTooLarge', reason: 'desired-too-large', error, bytes: mergedBytes, limit: settings.maxDesiredBytes } };
      }
      return { events: [{ type: 'DesiredPatched', data: { deviceId, patch, actor }, metadata: { at: command.metadata.now, requestId: command.metadata.requestId } }] };
    }
    case 'ReportConnectivity': {
      const { deviceId, online } = command.data;
      if (twin.connectivity.online === online && twin.connectivity.source === 'gateway') return { events: [] };
      const type = online ? 'DeviceConnected' : 'DeviceDisconnected';
      return { events: [{ type, data: { deviceId, source: 'gateway' }, metadata: { at: command.metadata.now } }] };
    }
    case 'CheckSilence': {
      const silent = twin.lastSeen !== null && command.metadata.now - twin.lastSeen >= settings.silenceMs;
      if (!twin.connectivity.online || twin.connectivity.source === 'gateway' || !silent) return { events: [] };
      return { events: [{ type: 'DeviceDisconnected', data: { deviceId: twin.deviceId, source: 'silence' }, metadata: { at: command.metadata.now } }] };
    }
    case 'RemoveDevice': {
      if (twin.version === 0 || twin.removed) return { rejection: { type: 'UnknownDevice', deviceId: command.data.deviceId } };
      return { events: [{ type: 'DeviceRemoved', data: { deviceId: command.data.deviceId, actor: command.data.actor ?? null }, metadata: { at: command.metadata.now } }] };
    }
    default:
      return exhaustive(command);
  }
}

/** The twin after one event. Pure: the same events always fold into the same twin. */
export function evolve(twin: DeviceTwin, event: TwinEvent): DeviceTwin {
  const base = twin.removed && event.type !== 'DeviceRemoved' ? initialTwin(twin.deviceId) : twin;
  const next = { ...base, version: twin.version + 1 };
  switch (event.type) {
    case 'TelemetryReported': {
      const { eventTime, seq, metrics, attributes } = event.data;
      const reported = { ...base.reported };
      const last = base.lastReading;
      const newer = isNewerReading(event.data, last);
      // per field: an out-of-order reading never overwrites a newer value; between readings of the
      // same event time the higher seq wins, so a re-delivered older one changes nothing
      for (const source of [metrics, attributes] as Record<string, number | string>[]) {
        for (const name in source) {
          const current = reported[name];
          if (!current || current.at < eventTime || (current.at === eventTime && newer)) reported[name] = { value: source[name]!, at: eventTime };
        }
      }
      return {
        ...next,
        reported,
        firstSeen: base.firstSeen === null ? eventTime : Math.min(base.firstSeen, eventTime),
        lastSeen: base.lastSeen === null ? eventTime : Math.max(base.lastSeen, eventTime),
        lastReading: newer ? { eventTime, seq } : last,
      };
    }
    case 'DesiredPatched':
      return { ...next, desired: mergeDesired(base.desired, event.data.patch), desiredChangedAt: event.metadata.at, desiredChangedBy: event.data.actor };
    case 'DeviceConnected':
      return { ...next, connectivity: { online: true, since: event.metadata.at, source: event.data.source } };
    case 'DeviceDisconnected':
      return { ...next, connectivity: { online: false, since: event.metadata.at, source: event.data.source } };
    case 'DeviceRemoved':
      return { ...initialTwin(twin.deviceId), version: twin.version + 1, removed: true };
    default:
      return exhaustive(event);
  }
}

/** One device's twin as a decider, with the service's limits. */
export function twinDecider(settings: TwinSettings, deviceId: string): Decider<TwinCommand, TwinEvent, DeviceTwin, TwinRejection> {
  return { initialState: () => initialTwin(deviceId), decide: (command, twin) => decide(command, twin, settings), evolve };
}

/**
 * Connectivity as of `now`: what a gateway reported stands; otherwise a device silent for the
 * silence window is offline from the moment the window ran out, even before a CheckSilence command
 * has recorded it.
 */
export function connectivityAt(twin: DeviceTwin, now: number, silenceMs: number): DeviceTwin['connectivity'] {
  const { connectivity, lastSeen } = twin;
  if (connectivity.source === 'gateway' || !connectivity.online || lastSeen === null) return connectivity;
  return now - lastSeen >= silenceMs ? { online: false, since: lastSeen + silenceMs, source: 'silence' } : connectivity;
}

/** Desired keys whose reported value differs (or is missing): what the device still has to do. */
export function delta(twin: DeviceTwin): JsonObject {
  const result: JsonObject = {};
  for (const [name, wanted] of Object.entries(twin.desired)) {
    if (!equal(twin.reported[name]?.value, wanted)) result[name] = wanted;
  }
  return result;
}

function mergeDesired(desired: JsonObject, patch: JsonObject): JsonObject {
  // json-merge-patch changes its target in place and the twin is immutable: copy first. A JSON
  // round trip, not structuredClone, which builds objects of another realm under jest's VM.
  return applyMergePatch(JSON.parse(JSON.stringify(desired)) as JsonObject, patch) as JsonObject;
}

/** Bytes of the value as UTF-8 JSON. */
function jsonBytes(value: JsonValue): number {
  return new TextEncoder().encode(JSON.stringify(value)).length;
}

/** A refusal when the reading would take the twin's reported field count past the cap (a twin already past a lowered cap may still update its fields). */
function reportedFieldsRejection(twin: DeviceTwin, reading: { metrics: Record<string, number>; attributes: Record<string, string> }, limit: number): TwinRejection | null {
  const names = new Set(twin.removed ? [] : Object.keys(twin.reported));
  const current = names.size;
  for (const source of [reading.metrics, reading.attributes]) for (const name in source) names.add(name);
  const fields = names.size;
  if (fields <= limit || fields <= current) return null;
  const error = `reading would give the twin of ${JSON.stringify(twin.deviceId)} ${fields} reported fields (metric and attribute names); the limit is ${limit} (TWIN_MAX_REPORTED_FIELDS): use fewer distinct names per device`;
  return { type: 'TwinTooLarge', reason: 'twin-too-large', error, fields, limit };
}

/** Whether a reading comes after the last applied one: later event time, or the same with a higher seq. */
function isNewerReading(reading: { eventTime: number; seq: number }, last: DeviceTwin['lastReading']): boolean {
  return !last || reading.eventTime > last.eventTime || (reading.eventTime === last.eventTime && reading.seq > last.seq);
}

function changesReported(twin: DeviceTwin, reading: { eventTime: number; seq: number; metrics: Record<string, number>; attributes: Record<string, string> }): boolean {
  const newer = isNewerReading(reading, twin.lastReading);
  for (const source of [reading.metrics, reading.attributes] as Record<string, JsonValue>[]) {
    for (const name in source) {
      const current = twin.reported[name];
      if (!current || current.at < reading.eventTime || (current.at === reading.eventTime && newer && current.value !== source[name])) return true;
    }
  }
  return false;
}

/**
 * A refusal as a reason (the dead letter's, and the one a PATCH answer is chosen by) and an error
 * for the caller: one wording whether the REST pre-check or the twin processor refused it.
 */
export function rejectionReason(rejection: TwinRejection): { reason: string; error: string } {
  switch (rejection.type) {
    case 'VersionConflict':
      return { reason: 'patch-version-conflict', error: `the twin is at version ${rejection.actualVersion}, not ${rejection.expectedVersion} (If-Match); read it again and retry` };
    case 'UnknownDevice':
      return { reason: 'unknown-device', error: `device ${rejection.deviceId} has no twin` };
    case 'InvalidPatch':
      return { reason: 'invalid-patch', error: rejection.reason };
    case 'DesiredTooLarge':
    case 'TwinTooLarge':
      return { reason: rejection.reason, error: rejection.error };
    default:
      return exhaustive(rejection);
  }
}

export type Applied = { twin: DeviceTwin; changed: boolean } | { rejection: TwinRejection };

/** decide, then fold the decided events: the twin after the command (the processor's and a rebuild's one step). */
export function applyCommand(twin: DeviceTwin, command: TwinCommand, settings: TwinSettings): Applied {
  const decision = decide(command, twin, settings);
  if ('rejection' in decision) return decision;
  return { twin: decision.events.reduce(evolve, twin), changed: decision.events.length > 0 };
}

/** Same state apart from the version counter (which a rebuild advances past the live one). */
export function sameTwinState(a: DeviceTwin, b: DeviceTwin): boolean {
  return equal({ ...a, version: 0 }, { ...b, version: 0 });
}

/**
 * Whether a step from `before` to `after` must send the desired state to the device: it changed,
 * or the device came back online while desired state is set (a device that was away missed it).
 */
export function desiredStateDue(before: DeviceTwin, after: DeviceTwin, now: number, silenceMs: number): boolean {
  if (after.removed) return false;
  if (!equal(before.desired, after.desired)) return true;
  const cameBack = !connectivityAt(before, now, silenceMs).online && connectivityAt(after, now, silenceMs).online;
  return cameBack && Object.keys(after.desired).length > 0;
}
