/** Longest device id, in characters (AWS IoT thing names and Azure IoT Hub device ids both stop at 128). */
export const DEVICE_ID_MAX_LENGTH = 128;

/**
 * Letters and digits (ASCII), and `-` `_` `.` `:` `@`: safe in a URL path segment, a Kafka key, an
 * LMDB key and a ClickHouse string literal, with no `/`, whitespace or control characters.
 */
const DEVICE_ID_PATTERN = /^[A-Za-z0-9_.:@-]+$/;

/** The device-id contract in one sentence, for error messages and docs. */
export const DEVICE_ID_RULE =
  `a device id is 1 to ${DEVICE_ID_MAX_LENGTH} characters, each an ASCII letter, a digit or one of - _ . : @`;

/** Why `id` breaks the device-id contract, or null when it keeps it. */
export function deviceIdError(id: string): string | null {
  if (id.length === 0) return `device id is empty; ${DEVICE_ID_RULE}`;
  if (id.length > DEVICE_ID_MAX_LENGTH) return `device id is ${id.length} characters long; ${DEVICE_ID_RULE}`;
  if (!DEVICE_ID_PATTERN.test(id)) {
    const bad = [...id].find((character) => !DEVICE_ID_PATTERN.test(character))!;
    return `device id "${idPreview(id)}" contains ${describe(bad)}; ${DEVICE_ID_RULE}`;
  }
  return null;
}

export function isValidDeviceId(id: string): boolean {
  return deviceIdError(id) === null;
}

function describe(character: string): string {
  const code = character.codePointAt(0)!;
  return `U+${code.toString(16).toUpperCase().padStart(4, '0')}${code >= 0x20 && code !== 0x7f ? ` "${character}"` : ''}`;
}

/** The start of an id for a message, escaped, so a hostile id cannot flood or corrupt a log line. */
export function idPreview(id: string): string {
  return JSON.stringify(id.slice(0, 40)).slice(1, -1) + (id.length > 40 ? '…' : '');
}
