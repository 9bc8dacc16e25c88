/**
 * Session lifecycle, whatever holds the sessions: read the cookie, enforce idle and absolute
 * timeouts server-side, record activity sparingly, start sessions under fresh ids, end them.
 * Two implementations: StoreSessions (memory or Redis; the cookie holds only an opaque id) and
 * CookieSessions (the whole session sealed into the cookie).
 */
import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { CookieOptions, HttpReply } from '../http/exchange.js';
import type { GatehouseConfig } from '../config/load.js';
import { GatehouseError } from '../errors.js';
import type { SessionData } from './session.js';
import type { SessionQuery } from './store.js';

export interface ActiveSession {
  /**
   * Names the session server-side: the store key (a hash of the cookie's session id), or in cookie
   * mode a random id sealed into the cookie. Session admin calls it the handle.
   */
  readonly key: string;
  data: SessionData;
  /** The response this session was loaded for: where cookie mode writes changes. */
  readonly reply?: HttpReply;
}

/** Where cookies come from: a request, or a WebSocket upgrade request parsed by hand. */
export interface CookieSource {
  cookies: Record<string, string | undefined>;
}

export type NewSession = Omit<SessionData, 'v' | 'createdAt' | 'touchedAt' | 'expiresAt' | 'logoutKey'>;

/**
 * Replies that set or clear a session cookie. @fastify/cookie writes Set-Cookie in an onSend hook,
 * which a proxied answer relayed straight to the socket would skip (proxy/upstream.ts).
 */
const repliesWithCookies = new WeakSet<HttpReply>();

export function setsCookies(reply: HttpReply): boolean {
  return repliesWithCookies.has(reply);
}

export abstract class SessionManager {
  readonly cookieName: string;
  readonly idleMs: number;
  readonly absoluteMs: number;
  /** Activity is written back at most this often, so reads stay reads. */
  readonly touchIntervalMs: number;
  /** __Host- rules: Secure, Path=/, no Domain. Strict keeps the cookie off every cross-site request. */
  readonly cookieOptions: CookieOptions;

  /** Locks held in this process, for stores without a lock of their own (memory, cookie). */
  readonly #localLocks = new Map<string, symbol>();

  /** Emits 'end' with the key of every session this instance ends (WebSocket connections listen). */
  readonly events = new EventEmitter<{ end: [key: string] }>();

  constructor(config: GatehouseConfig) {
    this.events.setMaxListeners(0);
    this.cookieName = config.session.cookieName;
    this.idleMs = config.session.idleTimeout;
    this.absoluteMs = config.session.absoluteTimeout;
    this.touchIntervalMs = Math.min(60_000, Math.floor(this.idleMs / 10));
    this.cookieOptions = { path: '/', httpOnly: true, secure: true, sameSite: 'strict' };
    if (config.session.persistent) this.cookieOptions.maxAge = Math.floor(this.absoluteMs / 1000);
  }

  /**
   * The live session this request's cookie names, or undefined. Expired sessions are ended;
   * activity is recorded when the last record is older than the touch interval (unless slide: false).
   */
  abstract load(
    request: CookieSource,
    reply: HttpReply | undefined,
    options?: { slide?: boolean },
  ): Promise<ActiveSession | undefined>;
  /** The session's current data (another request may have changed it), if still live. */
  abstract read(key: string): Promise<SessionData | undefined>;
  /** The newest data of a loaded session: what another request may have written since it was loaded. */
  abstract latest(session: ActiveSession): Promise<SessionData | undefined>;
  /**
   * The session as it is now, for watching it (session events): from the store's exact in-process
   * copy where it keeps one, else the store; never records activity.
   */
  abstract current(session: ActiveSession): Promise<SessionData | undefined>;
  /** Starts a new session under a fresh id and sets the cookie. */
  abstract create(reply: HttpReply, fields: NewSession): Promise<ActiveSession>;
  /** Writes a changed session back if it still exists; false when it has ended meanwhile. */
  abstract update(session: ActiveSession): Promise<boolean>;
  /** Ends a session server-side, without touching cookies. */
  abstract discard(key: string): Promise<void>;
  /** Keys of the live sessions matching the query. */
  abstract find(query: SessionQuery): Promise<string[]>;
  /** Records a one-time value; false when it was recorded before (a replay). */
  abstract markUsed(key: string, ttlMs: number): Promise<boolean>;
  /** Locks a session for a token refresh across instances; undefined while another holder has it. */
  abstract lock(key: string, ttlMs: number): Promise<(() => Promise<void>) | undefined>;
  /** The key of the session this request's cookie names (not checked for liveness), if any. */
  abstract cookieSessionKey(request: CookieSource): string | undefined;
  /** Waits (at most `timeoutMs`) for the backing store's first connection; rejects if it does not come. */
  async connect(_timeoutMs: number): Promise<void> {}
  /** Resolves when sessions can be served; used by /readyz. */
  abstract ping(): Promise<void>;
  abstract close(): Promise<void>;

  /**
   * A lock within this process: what a store without a lock of its own gives. The refresh and the
   * tokens for single APIs all use the one refresh token, so they must take turns even here.
   */
  protected localLock(key: string): (() => Promise<void>) | undefined {
    if (this.#localLocks.has(key)) return undefined;
    const mine = Symbol(key);
    this.#localLocks.set(key, mine);
    return async () => {
      if (this.#localLocks.get(key) === mine) this.#localLocks.delete(key);
    };
  }

  /** The live session or a 401: `session_expired` when a cookie names no live session (the cookie is cleared, never reissued). */
  async require(
    request: CookieSource,
    reply: HttpReply | undefined,
    options: { slide?: boolean } = {},
  ): Promise<ActiveSession> {
    const session = await this.load(request, reply, options);
    if (session) return session;
    if (request.cookies[this.cookieName] === undefined) throw new GatehouseError('unauthenticated');
    if (reply) this.clearCookie(request, reply);
    throw new GatehouseError('session_expired');
  }

  /** Ends the session server-side (when there is one) and clears the cookie. */
  async end(request: CookieSource, reply: HttpReply, session: ActiveSession | undefined): Promise<void> {
    if (session) await this.discard(session.key);
    this.clearCookie(request, reply);
  }

  /** Clears the session cookie (and, in cookie mode, every chunk of it). */
  clearCookie(_request: CookieSource, reply: HttpReply): void {
    this.expireCookie(reply, this.cookieName);
  }

  protected expireCookie(reply: HttpReply, name: string): void {
    this.setCookie(reply, name, '', { ...this.cookieOptions, maxAge: 0, expires: new Date(0) });
  }

  /** Every session cookie goes out through here, so the proxy knows which replies carry one. */
  protected setCookie(reply: HttpReply, name: string, value: string, options: CookieOptions): void {
    repliesWithCookies.add(reply);
    reply.setCookie(name, value, options);
  }

  /** When the session ends if nothing more happens: the earlier of idle and absolute expiry. */
  idleExpiresAt(data: SessionData): number {
    return Math.min(data.touchedAt + this.idleMs, data.expiresAt);
  }

  protected isExpired(data: SessionData, now = Date.now()): boolean {
    return now >= this.idleExpiresAt(data);
  }

  protected shouldTouch(data: SessionData, options: { slide?: boolean }, now = Date.now()): boolean {
    return options.slide !== false && now - data.touchedAt >= this.touchIntervalMs;
  }

  protected newSessionData(fields: NewSession): SessionData {
    const now = Date.now();
    return {
      v: 1,
      ...fields,
      createdAt: now,
      touchedAt: now,
      expiresAt: now + this.absoluteMs,
      logoutKey: randomBytes(16).toString('base64url'),
    };
  }
}

/** Runs a store operation; any failure of the store itself is `session_store_unavailable` (503). */
export async function guardStore<T>(operation: Promise<T>): Promise<T> {
  try {
    return await operation;
  } catch (cause) {
    throw new GatehouseError('session_store_unavailable', { cause, detail: 'session store operation failed' });
  }
}
