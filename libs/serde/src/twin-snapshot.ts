import type { ConnectivitySource, DeviceTwin, JsonObject } from '@fleetstream/domain';

/** The Avro shape of a twin on fleet.twins (schemas/device-twin.avsc). */
export interface TwinSnapshot {
  deviceId: string;
  version: number;
  reported: Record<string, { value: number | string; at: number }>;
  desiredJson: string;
  firstSeen: number | null;
  lastSeen: number | null;
  lastReadingTime: number | null;
  lastReadingSeq: number | null;
  online: boolean;
  connectivitySince: number | null;
  connectivitySource: string | null;
  desiredChangedAt: number | null;
  desiredChangedBy: string | null;
}

/** The Avro shape of fleet.device-events records (schemas/device-event.avsc). */
export interface DeviceEventRecord {
  deviceId: string;
  requestId: string;
  at: number;
  kind: 'DESIRED_PATCH' | 'CONNECTIVITY' | 'REMOVE';
  patchJson: string | null;
  expectedVersion: number | null;
  online: boolean | null;
  /** Who caused the event (DESIRED_PATCH, REMOVE); absent when not known: avsc writes the default, null. */
  actor?: string | null;
}

export function toTwinSnapshot(twin: DeviceTwin): TwinSnapshot {
  return {
    deviceId: twin.deviceId,
    version: twin.version,
    reported: twin.reported,
    desiredJson: JSON.stringify(twin.desired),
    firstSeen: twin.firstSeen,
    lastSeen: twin.lastSeen,
    lastReadingTime: twin.lastReading?.eventTime ?? null,
    lastReadingSeq: twin.lastReading?.seq ?? null,
    online: twin.connectivity.online,
    connectivitySince: twin.connectivity.since,
    connectivitySource: twin.connectivity.source,
    desiredChangedAt: twin.desiredChangedAt,
    desiredChangedBy: twin.desiredChangedBy,
  };
}

export function fromTwinSnapshot(snapshot: TwinSnapshot): DeviceTwin {
  return {
    deviceId: snapshot.deviceId,
    version: snapshot.version,
    // avsc decodes records as instances of generated classes; the domain works with plain objects
    reported: Object.fromEntries(Object.entries(snapshot.reported).map(([name, { value, at }]) => [name, { value, at }])),
    desired: JSON.parse(snapshot.desiredJson) as JsonObject,
    desiredChangedAt: snapshot.desiredChangedAt,
    desiredChangedBy: snapshot.desiredChangedBy,
    firstSeen: snapshot.firstSeen,
    lastSeen: snapshot.lastSeen,
    lastReading:
      snapshot.lastReadingTime === null || snapshot.lastReadingSeq === null
        ? null
        : { eventTime: snapshot.lastReadingTime, seq: snapshot.lastReadingSeq },
    connectivity: {
      online: snapshot.online,
      since: snapshot.connectivitySince,
      source: snapshot.connectivitySource as ConnectivitySource | null,
    },
    removed: false,
  };
}
