/**
 * The session store of Cloudflare Workers: GatehouseSessions Durable Objects (sessions-object.ts),
 * one per session, index and one-time value, reached by name from any Worker anywhere. Records are
 * sealed here before they leave the Worker, as RedisStore seals them for Redis; the session's
 * object also holds its refresh lock, so a token is refreshed once across the world.
 */
import { createHash } from 'node:crypto';
import { Aead } from '../session/aead.js';
import type { SessionData } from '../session/session.js';
import { indexKeys, queryKey, type SessionQuery, type SessionStore } from '../session/store.js';
import type { GatehouseSessions } from './sessions-object.js';

/** The binding of the GatehouseSessions class (wrangler.toml durable_objects.bindings). */
export interface SessionsNamespace {
  idFromName(name: string): unknown;
  get(id: unknown): Stub;
}

/** What a Worker can call on an object (Durable Object RPC). */
type Stub = Pick<
  GatehouseSessions,
  | 'readRecord'
  | 'writeRecord'
  | 'touchRecord'
  | 'removeRecord'
  | 'takeLock'
  | 'releaseLock'
  | 'markOnce'
  | 'addMember'
  | 'listMembers'
>;

/** Opened records kept per isolate: about 2 KB each, in a 128 MB isolate. */
const OPENED_LIMIT = 2_000;

export class DurableObjectStore implements SessionStore {
  readonly #aead: Aead;
  /** Session key → the header of the sealing last opened or written here, and what it holds. */
  readonly #opened = new Map<string, { header: Uint8Array; data: SessionData }>();

  constructor(
    private readonly namespace: SessionsNamespace,
    secrets: readonly string[],
  ) {
    this.#aead = new Aead(secrets, 'session-at-rest');
  }

  /**
   * Every call asks the session's object (a logout anywhere takes effect at once), but a record this
   * isolate has opened before is not sent and opened again while it is unchanged: the object only
   * confirms it still holds the same sealing.
   */
  async get(key: string): Promise<SessionData | undefined> {
    const known = this.#opened.get(key);
    const record = await this.#object('s', key).readRecord(known?.header);
    if (!record) {
      this.#opened.delete(key);
      return undefined;
    }
    if (!record.sealed) return known && { ...known.data, touchedAt: record.touchedAt };
    const plaintext = this.#aead.open(Buffer.from(record.sealed), key);
    if (!plaintext) return undefined; // sealed with a secret no longer configured, or tampered with
    const data = JSON.parse(plaintext.toString('utf8')) as SessionData;
    this.#remember(key, record.sealed, data);
    return { ...data, touchedAt: record.touchedAt };
  }

  async set(key: string, data: SessionData, ttlMs: number): Promise<void> {
    // Index first: an index entry without its session is harmless, a session missing from its index is not.
    await Promise.all(
      indexKeys(data).map((name) => this.#object('i', name).addMember(key, data.expiresAt - Date.now())),
    );
    await this.#object('s', key).writeRecord(this.#seal(key, data), data.touchedAt, ttlMs, false);
  }

  update(key: string, data: SessionData, ttlMs: number): Promise<boolean> {
    return this.#object('s', key).writeRecord(this.#seal(key, data), data.touchedAt, ttlMs, true);
  }

  touch(key: string, touchedAt: number, ttlMs: number): Promise<boolean> {
    return this.#object('s', key).touchRecord(touchedAt, ttlMs);
  }

  delete(key: string): Promise<void> {
    this.#opened.delete(key);
    return this.#object('s', key).removeRecord();
  }

  async find(query: SessionQuery): Promise<string[]> {
    const keys = await this.#object('i', queryKey(query)).listMembers();
    const live = await Promise.all(keys.map(async (key) => (await this.#object('s', key).readRecord()) !== undefined));
    return keys.filter((_, i) => live[i]);
  }

  markUsed(key: string, ttlMs: number): Promise<boolean> {
    return this.#object('u', key).markOnce(ttlMs);
  }

  async lock(key: string, ttlMs: number): Promise<(() => Promise<void>) | undefined> {
    const session = this.#object('s', key);
    const token = await session.takeLock(ttlMs);
    return token === undefined ? undefined : () => session.releaseLock(token);
  }

  async ping(): Promise<void> {}
  async close(): Promise<void> {}

  /**
   * An object by name. Session keys are hashes already (SessionManager); index and one-time names
   * (a user's sub, a provider session id, a login state) are hashed, as RedisStore does, so no
   * object is named after a user.
   */
  #object(kind: 's' | 'i' | 'u', name: string): Stub {
    const hashed = kind === 's' ? name : createHash('sha256').update(name).digest('base64url');
    return this.namespace.get(this.namespace.idFromName(`${kind}:${hashed}`));
  }

  #seal(key: string, data: SessionData): Uint8Array {
    const { touchedAt: _, ...rest } = data; // kept beside the record, so a touch need not reseal it
    const sealed = this.#aead.seal(Buffer.from(JSON.stringify(rest)), key);
    this.#remember(key, sealed, rest as SessionData);
    return sealed;
  }

  /** Keeps what a sealing holds, for the sessions this isolate served last (the oldest make room). */
  #remember(key: string, sealed: Uint8Array, data: SessionData): void {
    this.#opened.delete(key);
    this.#opened.set(key, { header: Uint8Array.from(Aead.headerOf(sealed)), data });
    if (this.#opened.size > OPENED_LIMIT) this.#opened.delete(this.#opened.keys().next().value!);
  }
}
