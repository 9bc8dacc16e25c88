/**
 * The in-process store: for development, tests and single-instance demos. Bounded (the least
 * recently written sessions are evicted first) and expiring (checked on read, swept periodically).
 */
import type { SessionData } from './session.js';
import type { SessionStore } from './store.js';

interface Entry<T> {
  value: T;
  expiresAt: number;
}

/** A Map with a size bound and per-entry expiry; insertion order doubles as recency of writes. */
class ExpiringMap<T> {
  readonly #entries = new Map<string, Entry<T>>();
  constructor(readonly maxEntries: number) {}

  get(key: string, now = Date.now()): T | undefined {
    const entry = this.#entries.get(key);
    if (!entry) return undefined;
    if (entry.expiresAt <= now) {
      this.#entries.delete(key);
      return undefined;
    }
    return entry.value;
  }

  set(key: string, value: T, ttlMs: number): void {
    this.#entries.delete(key); // re-insert at the end: most recently written
    this.#entries.set(key, { value, expiresAt: Date.now() + ttlMs });
    if (this.#entries.size > this.maxEntries) {
      this.#entries.delete(this.#entries.keys().next().value!);
    }
  }

  delete(key: string): void {
    this.#entries.delete(key);
  }

  sweep(now = Date.now()): void {
    for (const [key, entry] of this.#entries) if (entry.expiresAt <= now) this.#entries.delete(key);
  }

  get size(): number {
    return this.#entries.size;
  }
}

export class MemoryStore implements SessionStore {
  readonly #sessions: ExpiringMap<SessionData>;
  readonly #used: ExpiringMap<true>;
  readonly #sweeper: NodeJS.Timeout;

  constructor(options: { maxSessions: number; sweepIntervalMs?: number }) {
    this.#sessions = new ExpiringMap(options.maxSessions);
    // One-time values are small; allow several per session before evicting.
    this.#used = new ExpiringMap(options.maxSessions * 4);
    this.#sweeper = setInterval(() => {
      this.#sessions.sweep();
      this.#used.sweep();
    }, options.sweepIntervalMs ?? 60_000);
    this.#sweeper.unref();
  }

  async get(id: string): Promise<SessionData | undefined> {
    return this.#sessions.get(id);
  }

  async set(id: string, data: SessionData, ttlMs: number): Promise<void> {
    this.#sessions.set(id, data, ttlMs);
  }

  async delete(id: string): Promise<void> {
    this.#sessions.delete(id);
  }

  async markUsed(key: string, ttlMs: number): Promise<boolean> {
    if (this.#used.get(key) !== undefined) return false;
    this.#used.set(key, true, ttlMs);
    return true;
  }

  async ping(): Promise<void> {}

  async close(): Promise<void> {
    clearInterval(this.#sweeper);
  }

  /** Number of live (not yet swept) sessions. */
  get size(): number {
    return this.#sessions.size;
  }
}
