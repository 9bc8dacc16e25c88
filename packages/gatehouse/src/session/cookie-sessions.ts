/**
 * Sessions sealed into the browser's cookies: no store at all. The whole session (tokens included)
 * is encrypted and authenticated (AES-256-GCM, rotating keys) and split over `__Host-gatehouse`,
 * `__Host-gatehouse.1`, … when it outgrows one cookie; a tampered, missing or reordered chunk opens
 * nothing. The sealed value carries its own expiry, so a browser that keeps the cookie longer
 * gains nothing.
 *
 * What this mode cannot do, by construction: end a session server-side. Logout clears the cookie
 * and revokes the refresh token, but a copy of the cookie taken earlier keeps working on other
 * instances (and after a restart) until the access token expires. Back-channel logout and session
 * admin need a store and are refused at startup with this mode. This instance remembers sessions it
 * ended and refreshed (best effort): an ended session's cookie is refused here, and a request that
 * still carries the pre-refresh cookie is served from the refreshed state instead of refreshing again.
 */
import { randomBytes } from 'node:crypto';
import { answerBegun, type HttpReply } from '../http/exchange.js';
import type { GatehouseConfig } from '../config/load.js';
import { GatehouseError } from '../errors.js';
import { Aead, appPurpose } from './aead.js';
import { ExpiringMap } from './expiring-map.js';
import { SessionManager, type ActiveSession, type CookieSource, type NewSession } from './session-manager.js';
import { tokensChangedAt, type SessionData } from './session.js';

/** Characters of sealed text per cookie: with name and attributes, each Set-Cookie stays under 4096 bytes. */
const CHUNK_LENGTH = 3800;
/** How many recently refreshed or ended sessions this instance remembers. */
const MEMORY = 10_000;
/** Cookies opened recently (a few KB each): an active browser's unchanged cookie is not decrypted on every call. */
const OPENED_CACHE_SIZE = 2_000;
/**
 * The opened cache is looked up by the sealed text's last characters (its GCM tag, different for
 * every seal), then the whole text is compared: hashing a few KB of fresh string for a Map key
 * costs microseconds on every call.
 */
const TAIL_LENGTH = 24;

interface Sealed {
  key: string;
  data: SessionData;
}

export class CookieSessions extends SessionManager {
  readonly #aead: Aead;
  readonly #maxChunks: number;
  readonly #secondChunk: string;
  readonly #refreshed = new ExpiringMap<SessionData>(MEMORY);
  readonly #ended = new ExpiringMap<true>(MEMORY);
  readonly #used = new ExpiringMap<true>(MEMORY * 4);
  /** Tail of the sealed text -> the text, what it opened to and until when; only authentic, unexpired values get here. */
  readonly #opened = new Map<string, { text: string; sealed: Sealed; exp: number }>();

  constructor(config: GatehouseConfig) {
    super(config);
    this.#aead = new Aead(config.session.secrets, appPurpose('cookie-session', config.app));
    this.#maxChunks = config.session.cookieMode.maxChunks;
    this.#secondChunk = `${this.cookieName}.1`;
  }

  cookieSessionKey(): string | undefined {
    return undefined; // nothing server-side to end when a new sign-in replaces this session
  }

  async load(
    request: CookieSource,
    reply: HttpReply | undefined,
    options: { slide?: boolean } = {},
  ): Promise<ActiveSession | undefined> {
    const sealed = this.#open(request);
    if (!sealed || this.#ended.get(sealed.key)) return undefined;
    const newer = this.#refreshed.get(sealed.key);
    const data = newer && tokensChangedAt(newer) > tokensChangedAt(sealed.data) ? newer : sealed.data;
    if (this.isExpired(data)) return undefined;
    const session: ActiveSession = { key: sealed.key, data, reply };
    const now = Date.now();
    if (this.shouldTouch(data, options, now)) session.data = { ...data, touchedAt: now };
    // Re-issue the cookie when it changed or the browser still holds an older state.
    if (reply && session.data !== sealed.data) this.#write(request, reply, session);
    return session;
  }

  async read(key: string): Promise<SessionData | undefined> {
    return this.#ended.get(key) ? undefined : this.#refreshed.get(key);
  }

  /** What this instance knows: ended here, refreshed here, else the cookie's own (another instance's logout is not seen). */
  current(session: ActiveSession): Promise<SessionData | undefined> {
    return this.latest(session);
  }

  async latest(session: ActiveSession): Promise<SessionData | undefined> {
    if (this.#ended.get(session.key)) return undefined;
    const newer = this.#refreshed.get(session.key);
    return newer && tokensChangedAt(newer) > tokensChangedAt(session.data) ? newer : session.data;
  }

  async create(reply: HttpReply, fields: NewSession): Promise<ActiveSession> {
    const session: ActiveSession = {
      key: randomBytes(16).toString('base64url'),
      data: this.newSessionData(fields),
      reply,
    };
    this.#write(undefined, reply, session);
    return session;
  }

  async update(session: ActiveSession): Promise<boolean> {
    if (this.#ended.get(session.key)) return false;
    this.#refreshed.set(session.key, session.data, this.idleExpiresAt(session.data) - Date.now());
    if (session.reply) this.#write(session.reply.request, session.reply, session);
    return true;
  }

  async discard(key: string): Promise<void> {
    this.#refreshed.delete(key);
    this.#ended.set(key, true, this.absoluteMs);
    this.events.emit('end', key);
  }

  async find(): Promise<string[]> {
    throw new GatehouseError('server_error', { detail: 'finding sessions needs a server-side store' });
  }

  async markUsed(key: string, ttlMs: number): Promise<boolean> {
    if (this.#used.get(key)) return false;
    this.#used.set(key, true, ttlMs);
    return true;
  }

  /** Only this process can renew a cookie session's tokens as they are presented to it. */
  async lock(key: string): Promise<(() => Promise<void>) | undefined> {
    return this.localLock(key);
  }

  async ping(): Promise<void> {}
  async close(): Promise<void> {}

  override clearCookie(request: CookieSource, reply: HttpReply): void {
    for (const name of this.#chunkNames(request)) this.expireCookie(reply, name);
  }

  /** The chunk cookies this request carries, in order: the name, then name.1, name.2, … */
  #chunkNames(request: CookieSource): string[] {
    const names = [this.cookieName];
    for (let i = 1; i < this.#maxChunks && request.cookies[`${this.cookieName}.${i}`] !== undefined; i++) {
      names.push(`${this.cookieName}.${i}`);
    }
    return names;
  }

  #open(request: CookieSource): Sealed | undefined {
    const first = request.cookies[this.cookieName];
    if (first === undefined) return undefined;
    const text =
      request.cookies[this.#secondChunk] === undefined
        ? first // one cookie: the usual case, and on every call
        : this.#chunkNames(request)
            .map((name) => request.cookies[name])
            .join('');
    const tail = text.slice(-TAIL_LENGTH);
    const known = this.#opened.get(tail);
    if (known?.text === text) return Date.now() < known.exp ? known.sealed : undefined;
    const entry = this.#aead.openJsonWithExpiry(text, this.cookieName);
    const opened = entry?.value as Partial<Sealed> | undefined;
    if (!entry || typeof opened?.key !== 'string' || opened.data?.v !== 1) return undefined;
    if (this.#opened.size >= OPENED_CACHE_SIZE) this.#opened.delete(this.#opened.keys().next().value!);
    this.#opened.set(tail, { text, sealed: opened as Sealed, exp: entry.exp });
    return opened as Sealed;
  }

  /** Seals the session into as many cookies as it needs, and clears chunks it no longer uses. */
  #write(request: CookieSource | undefined, reply: HttpReply, session: ActiveSession): void {
    if (answerBegun(reply)) return;
    const { key, data } = session;
    const sealed = this.#aead.sealJson({ key, data }, this.cookieName, this.idleExpiresAt(data) - Date.now());
    const chunks = Math.ceil(sealed.length / CHUNK_LENGTH);
    if (chunks > this.#maxChunks) {
      throw new GatehouseError('session_too_large', {
        detail: `sealed session needs ${chunks} cookies, session.cookieMode.maxChunks is ${this.#maxChunks}; use a server-side store`,
      });
    }
    for (let i = 0; i < chunks; i++) {
      const name = i === 0 ? this.cookieName : `${this.cookieName}.${i}`;
      this.setCookie(reply, name, sealed.slice(i * CHUNK_LENGTH, (i + 1) * CHUNK_LENGTH), this.cookieOptions);
    }
    // Chunks beyond the new length would be appended to it on the next request: remove them.
    const present = request ? this.#chunkNames(request).length : this.#maxChunks;
    for (let i = chunks; i < present; i++) this.expireCookie(reply, `${this.cookieName}.${i}`);
  }
}
