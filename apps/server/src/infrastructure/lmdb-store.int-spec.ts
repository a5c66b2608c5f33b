import { describeKeyValueStore } from '../../../../test/support/key-value-store.contract';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LMDB_MAX_KEY_BYTES, LmdbStore } from './lmdb-store';

// LMDB files in a temporary directory: embedded, but real disk I/O, so not a unit spec
describeKeyValueStore('LmdbStore', () => LmdbStore.openEmpty(join(mkdtempSync(join(tmpdir(), 'fleetstream-lmdb-')), 'store')));

describe('LmdbStore key limit', () => {
  it('names keys over LMDB_MAX_KEY_BYTES, which LMDB itself refuses', async () => {
    const store = LmdbStore.openEmpty<number>(join(mkdtempSync(join(tmpdir(), 'fleetstream-lmdb-')), 'store'));
    try {
      const longest = 'k'.repeat(LMDB_MAX_KEY_BYTES);
      const tooLong = 'é'.repeat(LMDB_MAX_KEY_BYTES / 2 + 1); // two UTF-8 bytes each
      expect(store.keyError(longest)).toBeNull();
      expect(store.keyError(tooLong)).toMatch(/1980 bytes long; LMDB keys are at most 1978 bytes/);
      await store.write([[longest, 1]]);
      expect(store.get(longest)).toBe(1);
      await expect(store.write([[tooLong, 2]])).rejects.toThrow(/maximum key size/);
    } finally {
      await store.close();
    }
  });
});
