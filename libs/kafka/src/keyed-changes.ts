import { EventEmitter, once } from 'node:events';

/** Change notifications per key of a materialized view, so a writer can wait to read its own write back. */
export class KeyedChanges<V> {
  private readonly emitter = new EventEmitter().setMaxListeners(0);

  notify(key: string, value: V | null): void {
    this.emitter.emit(key, value);
  }

  /** Resolves with the value once `accept` holds for it (null when absent), or undefined at the timeout. */
  async waitFor(key: string, current: V | null, accept: (value: V | null) => boolean, timeoutMs: number): Promise<V | null | undefined> {
    if (accept(current)) return current;
    const signal = AbortSignal.timeout(timeoutMs);
    try {
      for (;;) {
        const [value] = (await once(this.emitter, key, { signal })) as [V | null];
        if (accept(value)) return value;
      }
    } catch {
      return undefined;
    }
  }
}
