import type { KeyValueStore, StoreChange } from '@fleetstream/kafka';
import { open, RootDatabase } from 'lmdb';
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';

/** LMDB's largest key, in UTF-8 bytes: a longer one makes a write throw and fails its whole transaction. */
export const LMDB_MAX_KEY_BYTES = 1978;

/** How values are written to and read from LMDB's pages. */
export interface ValueEncoder<V> {
  encode(value: V): Buffer;
  decode(bytes: Buffer): V;
}

/**
 * A KeyValueStore in LMDB (lmdb-js): values are msgpack in a memory-mapped B-tree ordered by key, so
 * a view of a million keys costs file pages the kernel can evict instead of JavaScript heap. The
 * store is a cache of a compacted topic that is rebuilt from offset 0 at every start, which is why it
 * is opened empty and without fsync: durability comes from Kafka, and a crash loses nothing.
 */
export class LmdbStore<V> implements KeyValueStore<V> {
  private constructor(
    private readonly db: RootDatabase<V, string>,
    readonly directory: string,
  ) {}

  /**
   * Deletes whatever a previous process left in `directory` and opens an empty store there. Values
   * are msgpack unless an `encoder` is given (one that knows the shape can skip the field names).
   */
  static openEmpty<V>(directory: string, encoder?: ValueEncoder<V>): LmdbStore<V> {
    rmSync(directory, { recursive: true, force: true });
    mkdirSync(directory, { recursive: true });
    try {
      return new LmdbStore<V>(open<V, string>({ path: join(directory, 'store.mdb'), noSync: true, noMetaSync: true, ...(encoder && { encoder }) }), directory);
    } catch (error) {
      throw new Error(`cannot open the LMDB store in ${directory}: ${(error as Error).message}; check the directory is writable and not used by another process`);
    }
  }

  get(key: string): V | undefined {
    return this.db.get(key);
  }

  keyError(key: string): string | null {
    const bytes = Buffer.byteLength(key, 'utf8');
    return bytes > LMDB_MAX_KEY_BYTES ? `the key is ${bytes} bytes long; LMDB keys are at most ${LMDB_MAX_KEY_BYTES} bytes` : null;
  }

  async write(changes: readonly StoreChange<V>[]): Promise<void> {
    // one LMDB write transaction per batch: readers see all of it or none of it
    await this.db.batch(() => {
      for (const [key, value] of changes) {
        if (value === null) void this.db.remove(key);
        else void this.db.put(key, value);
      }
    });
  }

  *entries(afterKey?: string): Iterable<[string, V]> {
    for (const { key, value } of this.db.getRange(afterKey === undefined ? {} : { start: afterKey })) {
      if (key !== afterKey) yield [key, value];
    }
  }

  count(): number {
    return (this.db.getStats() as { entryCount: number }).entryCount;
  }

  async close(): Promise<void> {
    await this.db.close();
  }
}
