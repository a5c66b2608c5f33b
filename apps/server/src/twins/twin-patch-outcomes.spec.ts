import { HttpStatus } from '@nestjs/common';
import { describeKeyValueStore } from '../../../../test/support/key-value-store.contract';
import { patchRejectionStatus, RecentValues } from './twin-patch-outcomes';

describe('a refused desired patch', () => {
  it.each([
    ['patch-version-conflict', HttpStatus.PRECONDITION_FAILED],
    ['desired-too-large', HttpStatus.PAYLOAD_TOO_LARGE],
    ['twin-too-large', HttpStatus.PAYLOAD_TOO_LARGE],
    ['invalid-patch', HttpStatus.BAD_REQUEST],
    ['unknown-device', HttpStatus.NOT_FOUND],
    ['a-reason-added-later', HttpStatus.BAD_REQUEST],
  ])('refused as %s answers %d', (reason, status) => {
    expect(patchRejectionStatus(reason)).toBe(status);
  });
});

describeKeyValueStore('RecentValues', () => new RecentValues(1000));

describe('RecentValues', () => {
  it('keeps only the newest keys by write order, a rewritten key counting as new', async () => {
    const store = new RecentValues<number>(2);
    await store.write([['a', 1], ['b', 2]]);
    await store.write([['a', 3], ['c', 4]]);
    expect([...store.entries()]).toEqual([['a', 3], ['c', 4]]);
    expect(store.count()).toBe(2);
  });
});
