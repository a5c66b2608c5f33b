import { DEVICE_ID_MAX_LENGTH, deviceIdError } from '@fleetstream/domain';
import { DEVICE_ID_SCHEMA_PATTERN } from './device-id.pipe';

describe('the OpenAPI pattern of a device id', () => {
  const pattern = new RegExp(DEVICE_ID_SCHEMA_PATTERN);
  const samples = [
    'pump-1', 'site:7@north.eu_1', 'A', '', 'x'.repeat(DEVICE_ID_MAX_LENGTH), 'x'.repeat(DEVICE_ID_MAX_LENGTH + 1),
    'a/b', 'a b', 'café', 'tab\there', 'line\n', '%2F', 'a+b', 'a#b', 'a?b', '[x]', '\\', '^', '$', '..',
    ...Array.from({ length: 128 }, (_, code) => String.fromCharCode(code)),
  ];

  it.each(samples)('agrees with the domain rule on %j', (id) => {
    expect(pattern.test(id)).toBe(deviceIdError(id) === null);
  });
});
