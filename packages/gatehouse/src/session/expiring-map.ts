/**
 * A Map with a size bound and per-entry expiry, for in-process state (sessions, one-time values,
 * recent refreshes). Insertion order doubles as recency of writes: past the bound, the least
 * recently written entry goes first.
 */
interface Entry<T> {
  value: T;
  expiresAt: number;
}

export class ExpiringMap<T> {
  readonly #entries = new Map<string, Entry<T>>();
  constructor(
    readonly maxEntries: number,
    readonly onRemove: (key: string, value: T) => void = () => {},
  ) {}

  get(key: string, now = Date.now()): T | undefined {
    const entry = this.#entries.get(key);
    if (!entry) return undefined;
    if (entry.expiresAt <= now) {
      this.delete(key);
      return undefined;
    }
    return entry.value;
  }

  set(key: string, value: T, ttlMs: number): void {
    this.delete(key); // re-insert at the end: most recently written
    this.#entries.set(key, { value, expiresAt: Date.now() + ttlMs });
    if (this.#entries.size > this.maxEntries) this.delete(this.#entries.keys().next().value!);
  }

  delete(key: string): void {
    const entry = this.#entries.get(key);
    if (!entry) return;
    this.#entries.delete(key);
    this.onRemove(key, entry.value);
  }

  sweep(now = Date.now()): void {
    for (const [key, entry] of this.#entries) if (entry.expiresAt <= now) this.delete(key);
  }

  get size(): number {
    return this.#entries.size;
  }
}
