import type { SessionData } from './session.js';

/** Which sessions to find: all of one provider session (sid), or all of one user (sub). */
export type SessionQuery = { iss: string; sid: string } | { iss: string; sub: string };

/**
 * Where sessions live. Keys are session handles (a hash of the session id, see SessionManager), so
 * no store ever holds a usable cookie value. Every method may reject when the backing service is
 * unreachable; SessionManager translates that into `session_store_unavailable`.
 */
export interface SessionStore {
  /** The session's record as stored right now. */
  get(key: string): Promise<SessionData | undefined>;
  /**
   * The record from this process's memory, when the store holds it there and knows it is current
   * (no I/O): the hot path asks this first. Token refreshes always use get().
   */
  peek?(key: string): SessionData | undefined;
  /** Stores a new session; it disappears by itself after `ttlMs`. */
  set(key: string, data: SessionData, ttlMs: number): Promise<void>;
  /** Replaces a session only if it still exists (a logout meanwhile must not be undone); false if it is gone. */
  update(key: string, data: SessionData, ttlMs: number): Promise<boolean>;
  /** Records activity without rewriting the rest, so it can never undo a concurrent token refresh; false if gone. */
  touch(key: string, touchedAt: number, ttlMs: number): Promise<boolean>;
  delete(key: string): Promise<void>;
  /** Keys of the live sessions matching the query (for back-channel logout and session admin). */
  find(query: SessionQuery): Promise<string[]>;
  /** Records a one-time value (a login `state`, a logout token `jti`); false if it was already recorded. */
  markUsed(key: string, ttlMs: number): Promise<boolean>;
  /**
   * A short exclusive lock across every instance sharing this store (for refreshing one session's
   * tokens); resolves to its release function, or undefined while someone else holds it. Stores
   * that live in one process need none: in-process single flight is enough there.
   */
  lock?(key: string, ttlMs: number): Promise<(() => Promise<void>) | undefined>;
  /** How many sessions are live (for the sessions gauge); may be approximate and a little stale. */
  count?(): Promise<number>;
  /** Resolves once connected, or rejects after `timeoutMs`; for stores that connect to something. */
  connect?(timeoutMs: number): Promise<void>;
  /** Resolves when the store can serve requests; used by /readyz. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

/** The index entries a session belongs to. */
export function indexKeys(data: Pick<SessionData, 'iss' | 'sub' | 'sid'>): string[] {
  const keys = [`sub:${data.iss}|${data.sub}`];
  if (data.sid) keys.push(`sid:${data.iss}|${data.sid}`);
  return keys;
}

export function queryKey(query: SessionQuery): string {
  return 'sid' in query ? `sid:${query.iss}|${query.sid}` : `sub:${query.iss}|${query.sub}`;
}
