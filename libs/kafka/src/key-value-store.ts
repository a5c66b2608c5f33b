/** One change to a store: a value, or null to delete the key (a tombstone). */
export type StoreChange<V> = readonly [key: string, value: V | null];

/**
 * Where a CompactedTopicView keeps its latest value per key. Reads are synchronous (a local store
 * answers from memory or a memory map); writes come in batches, one per fetched Kafka batch.
 */
export interface KeyValueStore<V> {
  get(key: string): V | undefined;
  /** Applies the changes in order; resolves once every read sees all of them. */
  write(changes: readonly StoreChange<V>[]): Promise<void>;
  /** Entries in ascending key order (UTF-8 byte order), starting after `afterKey` when given. */
  entries(afterKey?: string): Iterable<[string, V]>;
  /** How many keys the store holds. */
  count(): number;
  close(): Promise<void>;
  /** Why the store cannot hold this key (say, too long), or null; a view skips such records. */
  keyError?(key: string): string | null;
}

/** A store in a JavaScript Map: for views that are small by nature; key-ordered reads sort on demand. */
export class InMemoryStore<V> implements KeyValueStore<V> {
  private readonly values = new Map<string, V>();

  get(key: string): V | undefined {
    return this.values.get(key);
  }

  async write(changes: readonly StoreChange<V>[]): Promise<void> {
    for (const [key, value] of changes) {
      if (value === null) this.values.delete(key);
      else this.values.set(key, value);
    }
  }

  *entries(afterKey?: string): Iterable<[string, V]> {
    const keys = [...this.values.keys()].filter((key) => afterKey === undefined || compareUtf8(key, afterKey) > 0).sort(compareUtf8);
    for (const key of keys) {
      const value = this.values.get(key);
      if (value !== undefined) yield [key, value];
    }
  }

  count(): number {
    return this.values.size;
  }

  async close(): Promise<void> {
    this.values.clear();
  }
}

/** UTF-8 byte order, the order of an LMDB key range; differs from `<` on strings beyond the BMP. */
export function compareUtf8(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}
