import type { SessionData } from './session.js';

/**
 * Where sessions live. Implementations: memory (this process). Every method may reject when the
 * backing service is unreachable; callers translate that into `session_store_unavailable`.
 */
export interface SessionStore {
  get(id: string): Promise<SessionData | undefined>;
  /** Stores or replaces a session; it disappears by itself after `ttlMs`. */
  set(id: string, data: SessionData, ttlMs: number): Promise<void>;
  delete(id: string): Promise<void>;
  /** Records a one-time value (a login `state`, a logout token `jti`); false if it was already recorded. */
  markUsed(key: string, ttlMs: number): Promise<boolean>;
  /** Resolves when the store can serve requests; used by /readyz. */
  ping(): Promise<void>;
  close(): Promise<void>;
}
