/**
 * The in-process store: for development, tests and single-instance demos. Bounded (the least
 * recently written sessions are evicted first), expiring (checked on read, swept periodically),
 * and indexed by provider session (sid) and user (sub).
 */
import { ExpiringMap } from './expiring-map.js';
import type { SessionData } from './session.js';
import { indexKeys, queryKey, type SessionQuery, type SessionStore } from './store.js';

export class MemoryStore implements SessionStore {
  readonly #sessions: ExpiringMap<SessionData>;
  readonly #used: ExpiringMap<true>;
  readonly #index = new Map<string, Set<string>>();
  readonly #sweeper: NodeJS.Timeout;

  constructor(options: { maxSessions: number; sweepIntervalMs?: number }) {
    this.#sessions = new ExpiringMap(options.maxSessions, (key, data) => this.#unindex(key, data));
    // One-time values are small; allow several per session before evicting.
    this.#used = new ExpiringMap(options.maxSessions * 4);
    this.#sweeper = setInterval(() => {
      this.#sessions.sweep();
      this.#used.sweep();
    }, options.sweepIntervalMs ?? 60_000);
    this.#sweeper.unref();
  }

  async count(): Promise<number> {
    return this.#sessions.size;
  }

  async get(key: string): Promise<SessionData | undefined> {
    return this.#sessions.get(key);
  }

  peek(key: string): SessionData | undefined {
    return this.#sessions.get(key);
  }

  async set(key: string, data: SessionData, ttlMs: number): Promise<void> {
    this.#sessions.set(key, data, ttlMs);
    for (const index of indexKeys(data)) {
      let keys = this.#index.get(index);
      if (!keys) this.#index.set(index, (keys = new Set()));
      keys.add(key);
    }
  }

  async update(key: string, data: SessionData, ttlMs: number): Promise<boolean> {
    if (this.#sessions.get(key) === undefined) return false;
    await this.set(key, data, ttlMs);
    return true;
  }

  async touch(key: string, touchedAt: number, ttlMs: number): Promise<boolean> {
    const current = this.#sessions.get(key);
    if (current === undefined) return false;
    this.#sessions.set(key, { ...current, touchedAt }, ttlMs);
    return true;
  }

  async delete(key: string): Promise<void> {
    this.#sessions.delete(key);
  }

  async find(query: SessionQuery): Promise<string[]> {
    const keys = [...(this.#index.get(queryKey(query)) ?? [])];
    return keys.filter((key) => this.#sessions.get(key) !== undefined);
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

  #unindex(key: string, data: SessionData): void {
    for (const index of indexKeys(data)) {
      const keys = this.#index.get(index);
      keys?.delete(key);
      if (keys?.size === 0) this.#index.delete(index);
    }
  }
}
