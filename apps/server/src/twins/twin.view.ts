import { connectivityAt, delta, DeviceTwin, JsonObject } from '@fleetstream/domain';

/** A twin as the REST API shows it. */
export interface TwinView {
  deviceId: string;
  version: number;
  reported: Record<string, { value: number | string; at: string }>;
  desired: JsonObject;
  delta: JsonObject;
  /** When desired state last changed, and who changed it (key:<name>, jwt:<subject>); null when not known. */
  desiredChangedAt: string | null;
  desiredChangedBy: string | null;
  firstSeen: string | null;
  lastSeen: string | null;
  connectivity: { online: boolean; since: string | null; source: string | null };
}

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

/** The twin as of `now`; connectivity applies the silence window (TWIN_SILENCE_S). */
export function twinView(twin: DeviceTwin, now: number, silenceMs: number): TwinView {
  const connectivity = connectivityAt(twin, now, silenceMs);
  return {
    deviceId: twin.deviceId,
    version: twin.version,
    reported: Object.fromEntries(Object.entries(twin.reported).map(([name, { value, at }]) => [name, { value, at: iso(at)! }])),
    desired: twin.desired,
    delta: delta(twin),
    desiredChangedAt: iso(twin.desiredChangedAt),
    desiredChangedBy: twin.desiredChangedBy,
    firstSeen: iso(twin.firstSeen),
    lastSeen: iso(twin.lastSeen),
    connectivity: { online: connectivity.online, since: iso(connectivity.since), source: connectivity.source },
  };
}
