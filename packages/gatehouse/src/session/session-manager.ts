/**
 * Session lifecycle around the store: read the cookie, enforce idle and absolute timeouts
 * server-side, record activity sparingly, rotate ids at sign-in, and end sessions. The cookie holds
 * only the opaque id; the store only ever sees its hash (the session "key"), so a dump of the store
 * yields no usable cookie. Strict mode: an id the store does not know is never adopted or reissued.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { CookieSerializeOptions } from '@fastify/cookie';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { GatehouseConfig } from '../config/load.js';
import { GatehouseError } from '../errors.js';
import { isSessionId, newSessionId, type SessionData } from './session.js';
import type { SessionQuery, SessionStore } from './store.js';

export interface ActiveSession {
  /** The store key: a hash of the cookie's session id. Also the handle session admin shows. */
  readonly key: string;
  data: SessionData;
}

export type NewSession = Omit<SessionData, 'v' | 'createdAt' | 'touchedAt' | 'expiresAt' | 'logoutKey'>;

/** The store key of a session id. */
export function sessionKey(id: string): string {
  return createHash('sha256').update(id).digest('base64url');
}

export class SessionManager {
  readonly cookieName: string;
  readonly #idleMs: number;
  readonly #absoluteMs: number;
  /** Activity is written back at most this often, so reads stay reads. */
  readonly #touchIntervalMs: number;
  readonly #cookieOptions: CookieSerializeOptions;

  constructor(
    config: GatehouseConfig,
    readonly store: SessionStore,
  ) {
    this.cookieName = config.session.cookieName;
    this.#idleMs = config.session.idleTimeout;
    this.#absoluteMs = config.session.absoluteTimeout;
    this.#touchIntervalMs = Math.min(60_000, Math.floor(this.#idleMs / 10));
    // __Host- rules: Secure, Path=/, no Domain. Strict keeps the cookie off every cross-site request.
    this.#cookieOptions = { path: '/', httpOnly: true, secure: true, sameSite: 'strict' };
    if (config.session.persistent) this.#cookieOptions.maxAge = Math.floor(this.#absoluteMs / 1000);
  }

  /** The well-formed session id in this request's cookie, if any (not checked against the store). */
  cookieSessionId(request: FastifyRequest): string | undefined {
    const id = request.cookies[this.cookieName];
    return isSessionId(id) ? id : undefined;
  }

  /** True when the request carries a session cookie at all (valid or not). */
  hasCookie(request: FastifyRequest): boolean {
    return request.cookies[this.cookieName] !== undefined;
  }

  /**
   * The live session this request's cookie names, or undefined. An expired session is deleted;
   * activity is recorded when the last record is older than the touch interval.
   */
  async load(request: FastifyRequest, options: { slide?: boolean } = {}): Promise<ActiveSession | undefined> {
    const id = this.cookieSessionId(request);
    if (id === undefined) return undefined;
    const key = sessionKey(id);
    const data = await this.read(key);
    if (!data) return undefined;
    const session: ActiveSession = { key, data };
    const now = Date.now();
    if (options.slide !== false && now - data.touchedAt >= this.#touchIntervalMs) {
      session.data = { ...data, touchedAt: now };
      const ttl = this.idleExpiresAt(session.data) - now;
      if (!(await this.#guard(this.store.touch(key, now, ttl)))) return undefined;
    }
    return session;
  }

  /** The live session or a 401: `session_expired` when a cookie names no live session (the cookie is cleared, never reissued). */
  async require(
    request: FastifyRequest,
    reply: FastifyReply,
    options: { slide?: boolean } = {},
  ): Promise<ActiveSession> {
    const session = await this.load(request, options);
    if (session) return session;
    if (!this.hasCookie(request)) throw new GatehouseError('unauthenticated');
    this.clearCookie(reply);
    throw new GatehouseError('session_expired');
  }

  /** The session's current data in the store (another request may have changed it), if still live. */
  async read(key: string): Promise<SessionData | undefined> {
    const data = await this.#guard(this.store.get(key));
    if (!data) return undefined;
    const now = Date.now();
    if (now >= data.expiresAt || now >= data.touchedAt + this.#idleMs) {
      await this.#guard(this.store.delete(key));
      return undefined;
    }
    return data;
  }

  /** Starts a new session under a fresh id and sets the cookie. */
  async create(reply: FastifyReply, fields: NewSession): Promise<ActiveSession> {
    const now = Date.now();
    const id = newSessionId();
    const session: ActiveSession = {
      key: sessionKey(id),
      data: {
        v: 1,
        ...fields,
        createdAt: now,
        touchedAt: now,
        expiresAt: now + this.#absoluteMs,
        logoutKey: randomBytes(16).toString('base64url'),
      },
    };
    await this.#guard(this.store.set(session.key, session.data, this.idleExpiresAt(session.data) - now));
    reply.setCookie(this.cookieName, id, this.#cookieOptions);
    return session;
  }

  /**
   * Writes a changed session back if it still exists (false when it has ended meanwhile). Its store
   * entry lives for the idle timeout, capped by the absolute end.
   */
  async update(session: ActiveSession): Promise<boolean> {
    const ttl = this.idleExpiresAt(session.data) - Date.now();
    if (ttl <= 0) return false;
    return this.#guard(this.store.update(session.key, session.data, ttl));
  }

  /** Ends the session server-side (when there is one) and clears the cookie. */
  async end(reply: FastifyReply, session: ActiveSession | undefined): Promise<void> {
    if (session) await this.discard(session.key);
    this.clearCookie(reply);
  }

  /** Deletes a session server-side by key, without touching cookies. */
  discard(key: string): Promise<void> {
    return this.#guard(this.store.delete(key));
  }

  /** Keys of the live sessions matching the query. */
  find(query: SessionQuery): Promise<string[]> {
    return this.#guard(this.store.find(query));
  }

  /** Records a one-time value; false when it was recorded before (a replay). */
  markUsed(key: string, ttlMs: number): Promise<boolean> {
    return this.#guard(this.store.markUsed(key, ttlMs));
  }

  clearCookie(reply: FastifyReply): void {
    reply.setCookie(this.cookieName, '', { ...this.#cookieOptions, maxAge: 0, expires: new Date(0) });
  }

  /** When the session ends if nothing more happens: the earlier of idle and absolute expiry. */
  idleExpiresAt(data: SessionData): number {
    return Math.min(data.touchedAt + this.#idleMs, data.expiresAt);
  }

  async #guard<T>(operation: Promise<T>): Promise<T> {
    try {
      return await operation;
    } catch (cause) {
      throw new GatehouseError('session_store_unavailable', { cause, detail: 'session store operation failed' });
    }
  }
}
