/** A twin as GET /devices and the twin stream show it (apps/server/src/twins/twin.view.ts). */
export interface TwinView {
  deviceId: string;
  version: number;
  reported: Record<string, { value: number | string; at: string }>;
  desired: Record<string, unknown>;
  delta: Record<string, unknown>;
  desiredChangedAt: string | null;
  desiredChangedBy: string | null;
  firstSeen: string | null;
  lastSeen: string | null;
  connectivity: { online: boolean; since: string | null; source: string | null };
}

export interface DevicesPage {
  count: number;
  devices: TwinView[];
  nextCursor?: string;
}

/** GET /devices/summary. */
export interface FleetSummary {
  devices: Record<Connectivity, number> & { total: number };
  activeAlarms: Record<string, number>;
  ingest: { recordsPerSecond: number | null; measuredBy: string; lag: Array<{ group: string; records: number }> | null };
}

export type Connectivity = 'online' | 'offline' | 'silent';

/** Silent: the service marked the device offline because it sent nothing for TWIN_SILENCE_S. */
export function connectivityOf(twin: TwinView): Connectivity {
  if (twin.connectivity.online) return 'online';
  return twin.connectivity.source === 'silence' ? 'silent' : 'offline';
}
