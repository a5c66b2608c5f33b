import { DEVICE_ID_MAX_LENGTH, deviceIdError } from './device-id';

describe('the device-id contract', () => {
  describe('when the id keeps it', () => {
    it.each(['device-00001', 'a', 'gw_1.sensor:7@site-B', 'x'.repeat(DEVICE_ID_MAX_LENGTH)])('accepts %s', (id) =>
      expect(deviceIdError(id)).toBeNull(),
    );
  });

  describe('when the id breaks it', () => {
    it.each([
      ['empty', '', /empty/],
      ['too long', 'x'.repeat(DEVICE_ID_MAX_LENGTH + 1), /129 characters/],
      ['2,000 bytes', 'é'.repeat(1000), /1000 characters/],
      ['a slash', 'a/b', /U\+002F "\/"/],
      ['a space', 'a b', /U\+0020/],
      ['a control character', 'a\u0000b', /U\+0000;/],
      ['another script', 'устройство', /U\+0443/],
      ['an emoji', 'dev-😀', /U\+1F600/],
    ])('refuses one with %s, naming the rule', (_, id, message) => {
      const error = deviceIdError(id);
      expect(error).toMatch(message);
      expect(error).toContain('1 to 128 characters');
    });
  });
});
