import { describeKeyValueStore } from '../../../../test/support/key-value-store.contract';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LmdbStore } from './lmdb-store';

// LMDB files in a temporary directory: embedded, but real disk I/O, so not a unit spec
describeKeyValueStore('LmdbStore', () => LmdbStore.openEmpty(join(mkdtempSync(join(tmpdir(), 'fleetstream-lmdb-')), 'store')));
