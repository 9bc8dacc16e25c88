/**
 * Sessions kept in a store (memory or Redis). The cookie holds only the opaque session id; the
 * store only ever sees its hash (the session key), so a dump of the store yields no usable cookie.
 * Strict mode: an id the store does not know is never adopted or reissued.
 */
import { createHash } from 'node:crypto';
import type { HttpReply } from '../http/exchange.js';
import type { GatehouseConfig } from '../config/load.js';
import {
  SessionManager,
  guardStore,
  type ActiveSession,
  type CookieSource,
  type NewSession,
} from './session-manager.js';
import { isSessionId, newSessionId, type SessionData } from './session.js';
import type { SessionQuery, SessionStore } from './store.js';

/** The store key of a session id. */
export function sessionKey(id: string): string {
  return createHash('sha256').update(id).digest('base64url');
}

/** Recently used session keys, so an active browser's cookie is not hashed again on every call. */
const RECENT_KEYS = 10_000;

export class StoreSessions extends SessionManager {
  readonly #recentKeys = new Map<string, string>();

  constructor(
    config: GatehouseConfig,
    readonly store: SessionStore,
  ) {
    super(config);
  }

  cookieSessionKey(request: CookieSource): string | undefined {
    const id = request.cookies[this.cookieName];
    if (!isSessionId(id)) return undefined;
    let key = this.#recentKeys.get(id);
    if (key === undefined) {
      key = sessionKey(id);
      if (this.#recentKeys.size >= RECENT_KEYS) this.#recentKeys.delete(this.#recentKeys.keys().next().value!);
      this.#recentKeys.set(id, key);
    }
    return key;
  }

  async load(
    request: CookieSource,
    reply: HttpReply | undefined,
    options: { slide?: boolean } = {},
  ): Promise<ActiveSession | undefined> {
    const key = this.cookieSessionKey(request);
    if (key === undefined) return undefined;
    const data = await this.#read(key, true);
    if (!data) return undefined;
    const session: ActiveSession = { key, data, reply };
    const now = Date.now();
    if (this.shouldTouch(data, options, now)) {
      session.data = { ...data, touchedAt: now };
      if (!(await guardStore(this.store.touch(key, now, this.idleExpiresAt(session.data) - now)))) return undefined;
    }
    return session;
  }

  /** The session as stored right now (never from a cache). */
  read(key: string): Promise<SessionData | undefined> {
    return this.#read(key, false);
  }

  /** `cached`: the hot path, which may take the store's in-memory copy (no I/O, no timing). */
  async #read(key: string, cached: boolean): Promise<SessionData | undefined> {
    const data = (cached ? this.store.peek?.(key) : undefined) ?? (await guardStore(this.store.get(key)));
    if (!data) return undefined;
    if (this.isExpired(data)) {
      await this.discard(key);
      return undefined;
    }
    return data;
  }

  latest(session: ActiveSession): Promise<SessionData | undefined> {
    return this.read(session.key);
  }

  current(session: ActiveSession): Promise<SessionData | undefined> {
    return this.#read(session.key, true);
  }

  async create(reply: HttpReply, fields: NewSession): Promise<ActiveSession> {
    const id = newSessionId();
    const session: ActiveSession = { key: sessionKey(id), data: this.newSessionData(fields), reply };
    await guardStore(this.store.set(session.key, session.data, this.idleExpiresAt(session.data) - Date.now()));
    this.setCookie(reply, this.cookieName, id, this.cookieOptions);
    return session;
  }

  async update(session: ActiveSession): Promise<boolean> {
    const ttl = this.idleExpiresAt(session.data) - Date.now();
    if (ttl <= 0) return false;
    return guardStore(this.store.update(session.key, session.data, ttl));
  }

  async discard(key: string): Promise<void> {
    await guardStore(this.store.delete(key));
    this.events.emit('end', key);
  }

  find(query: SessionQuery): Promise<string[]> {
    return guardStore(this.store.find(query));
  }

  markUsed(key: string, ttlMs: number): Promise<boolean> {
    return guardStore(this.store.markUsed(key, ttlMs));
  }

  async lock(key: string, ttlMs: number): Promise<(() => Promise<void>) | undefined> {
    if (!this.store.lock) return this.localLock(key); // a store in this process only
    return guardStore(this.store.lock(key, ttlMs));
  }

  override async connect(timeoutMs: number): Promise<void> {
    await this.store.connect?.(timeoutMs);
  }

  ping(): Promise<void> {
    return this.store.ping();
  }

  close(): Promise<void> {
    return this.store.close();
  }
}
