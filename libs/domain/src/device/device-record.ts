import { deviceIdError, idPreview } from './device-id';

/** Why a device-keyed record (device event, acknowledgment) is not its device's, or null when it is. */
export interface DeviceRecordFault {
  reason: 'invalid-device-id' | 'missing-key' | 'key-mismatch';
  error: string;
}

/**
 * The checks every record keyed by device id passes before it counts: the device id keeps the
 * contract, and the key is that device id (which is what puts the record in its device's partition).
 */
export function deviceRecordFault(key: string | null, deviceId: string, what: string): DeviceRecordFault | null {
  const invalid = deviceIdError(deviceId);
  if (invalid !== null) return { reason: 'invalid-device-id', error: `${what}: ${invalid}` };
  if (key === null || key.length === 0) {
    return { reason: 'missing-key', error: `${what} has ${key === null ? 'no' : 'an empty'} key; key it by its device id ("${deviceId}")` };
  }
  if (key !== deviceId) return { reason: 'key-mismatch', error: `${what} is keyed "${idPreview(key)}" but is for device "${deviceId}"; key it by its device id` };
  return null;
}
