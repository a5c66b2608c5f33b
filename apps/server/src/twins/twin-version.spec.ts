import { BadRequestException } from '@nestjs/common';
import { noneMatchHits, parseVersion, VERSION_TAG_PATTERN, versionTag } from './twin-version';

describe('twin versions in headers', () => {
  describe('parseVersion', () => {
    it.each([['"7"', 7], ['7', 7], ['W/"12"', 12], [' "3" ', 3], [versionTag(42), 42]])('reads %j as %d', (header, version) => {
      expect(parseVersion(header, 'If-Match')).toBe(version);
    });

    it.each(['yesterday', '"7', '-1', '"1.5"', '"7", "8"', '1234567890123456', ''])('refuses %j with a 400 naming the header', (header) => {
      expect(() => parseVersion(header, 'Last-Event-ID')).toThrow(BadRequestException);
      expect(() => parseVersion(header, 'Last-Event-ID')).toThrow(/Last-Event-ID must be the twin's version/);
    });

    it('accepts exactly what the documented pattern accepts', () => {
      const pattern = new RegExp(VERSION_TAG_PATTERN);
      for (const header of ['"7"', '7', 'W/"7"', 'W/7', '"7', 'x', '"-1"', '1'.repeat(15), '1'.repeat(16)]) {
        expect(pattern.test(header)).toBe(((): boolean => { try { parseVersion(header, 'If-Match'); return true; } catch { return false; } })());
      }
    });
  });

  describe('noneMatchHits', () => {
    it.each([
      ['"7"', true],
      ['W/"7"', true],
      ['"6", "7"', true],
      ['*', true],
      ['"6"', false],
      ['7', false],
      ['garbage', false],
    ])('If-None-Match %j at version 7: %s', (header, hit) => {
      expect(noneMatchHits(header, 7)).toBe(hit);
    });

    it('without the header, never', () => {
      expect(noneMatchHits(undefined, 7)).toBe(false);
    });
  });
});
