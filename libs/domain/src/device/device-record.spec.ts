import { deviceRecordFault } from './device-record';

describe('a device-keyed record', () => {
  describe('when its key is its device id', () => {
    it('counts', () => expect(deviceRecordFault('dev-1', 'dev-1', 'an ack')).toBeNull());
  });

  describe('when it is not its device\'s', () => {
    it.each([
      ['invalid-device-id', 'dev/1', 'dev/1'],
      ['missing-key', null, 'dev-1'],
      ['missing-key', '', 'dev-1'],
      ['key-mismatch', 'dev-2', 'dev-1'],
    ])('is a %s fault', (reason, key, deviceId) => expect(deviceRecordFault(key, deviceId, 'an ack')?.reason).toBe(reason));
  });
});
