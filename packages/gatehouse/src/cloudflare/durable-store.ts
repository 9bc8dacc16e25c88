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

export class DurableObjectStore implements SessionStore {
  readonly #aead: Aead;

  constructor(
    private readonly namespace: SessionsNamespace,
    secrets: readonly string[],
  ) {
    this.#aead = new Aead(secrets, 'session-at-rest');
  }

  async get(key: string): Promise<SessionData | undefined> {
    const record = await this.#object('s', key).readRecord();
    if (!record) return undefined;
    const plaintext = this.#aead.open(Buffer.from(record.sealed), key);
    if (!plaintext) return undefined; // sealed with a secret no longer configured, or tampered with
    return { ...(JSON.parse(plaintext.toString('utf8')) as SessionData), touchedAt: record.touchedAt };
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
    return this.#aead.seal(Buffer.from(JSON.stringify(rest)), key);
  }
}
