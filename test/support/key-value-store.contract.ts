import type { KeyValueStore } from '@fleetstream/kafka';

/** The behaviour every KeyValueStore shares, as a jest suite to run against each implementation. */
export function describeKeyValueStore(name: string, openEmpty: () => KeyValueStore<{ n: number }>): void {
  describe(name, () => {
    let store: KeyValueStore<{ n: number }>;

    beforeEach(() => {
      store = openEmpty();
    });

    afterEach(async () => {
      await store.close();
    });

    describe('when a batch sets and deletes keys', () => {
      it('holds the last value per key and drops tombstoned keys', async () => {
        await store.write([['b', { n: 1 }], ['a', { n: 2 }], ['b', { n: 3 }], ['c', { n: 4 }], ['c', null]]);
        expect(store.get('a')).toEqual({ n: 2 });
        expect(store.get('b')).toEqual({ n: 3 });
        expect(store.get('c')).toBeUndefined();
        expect(store.count()).toBe(2);
      });
    });

    describe('when read in key order', () => {
      beforeEach(async () => {
        await store.write(['dev-10', 'dev-02', 'dev-1', 'Z', 'é'].map((key, n) => [key, { n }] as const));
      });

      it('yields every entry in UTF-8 byte order', () => {
        expect([...store.entries()].map(([key]) => key)).toEqual(['Z', 'dev-02', 'dev-1', 'dev-10', 'é']);
      });

      it('starts after the given key, whether or not it exists', () => {
        expect([...store.entries('dev-02')].map(([key]) => key)).toEqual(['dev-1', 'dev-10', 'é']);
        expect([...store.entries('dev-05')].map(([key]) => key)).toEqual(['dev-1', 'dev-10', 'é']);
      });

      it('can be left half-way', () => {
        const first: string[] = [];
        for (const [key] of store.entries()) {
          first.push(key);
          if (first.length === 2) break;
        }
        expect(first).toEqual(['Z', 'dev-02']);
      });
    });
  });
}
