import { DEVICE_ID_MAX_LENGTH } from '@fleetstream/domain';

/**
 * What a device page cursor looks like (base64url without padding, of at most a device id's length);
 * the query validation and the OpenAPI pattern both use it, so a cursor outside it is a 400.
 */
export const DEVICE_CURSOR_MAX_LENGTH = Math.ceil((DEVICE_ID_MAX_LENGTH * 4) / 3);
export const DEVICE_CURSOR_PATTERN = `^[A-Za-z0-9_-]{1,${DEVICE_CURSOR_MAX_LENGTH}}$`;

/** The cursor that continues a device page after `deviceId` (the last one the page read). */
export function encodeDeviceCursor(deviceId: string): string {
  return Buffer.from(deviceId).toString('base64url');
}

/**
 * The position a cursor continues after, in device id order; undefined for the start. Any cursor of
 * the pattern names some position (a hand-made one just starts somewhere), so only the pattern is
 * checked, and the OpenAPI document can say exactly which cursors are accepted.
 */
export function decodeDeviceCursor(cursor: string): string | undefined {
  const after = Buffer.from(cursor, 'base64url').toString();
  return after.length === 0 ? undefined : after;
}
