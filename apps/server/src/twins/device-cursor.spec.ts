import { DEVICE_ID_MAX_LENGTH } from '@fleetstream/domain';
import { decodeDeviceCursor, DEVICE_CURSOR_PATTERN, encodeDeviceCursor } from './device-cursor';

describe('device page cursor', () => {
  const pattern = new RegExp(DEVICE_CURSOR_PATTERN);

  it.each(['pump-1', 'a', 'site:7@north.eu_1', 'x'.repeat(DEVICE_ID_MAX_LENGTH)])('round-trips %s through a cursor the pattern accepts', (deviceId) => {
    const cursor = encodeDeviceCursor(deviceId);
    expect(cursor).toMatch(pattern);
    expect(decodeDeviceCursor(cursor)).toBe(deviceId);
  });

  it('reads a cursor that decodes to nothing as the start', () => {
    expect(decodeDeviceCursor('A')).toBeUndefined();
  });

  it.each(['', 'cHVtcC0x=', 'a b', 'x'.repeat(172)])('the pattern refuses %j', (cursor) => {
    expect(cursor).not.toMatch(pattern);
  });
});
