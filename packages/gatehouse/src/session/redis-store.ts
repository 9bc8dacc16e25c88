/**
 * Sessions in Redis (or Valkey, ElastiCache, Upstash): standalone, Sentinel or Cluster, with TLS
 * and AUTH/ACL. What Redis holds is useless to whoever dumps it: keys are hashes of the session ids
 * (SessionManager), and every record is sealed with AES-256-GCM (rotating keys) bound to its key.
 *
 * Layout (every name starts with keyPrefix; `{…}` is a cluster hash tag):
 *   s:{key}   hash  d = sealed session, t = last activity (ms)   TTL: idle timeout, capped by absolute
 *   l:{key}   string  refresh lock of that session (same slot as the session)
 *   i:<hash>  sorted set of session keys by absolute expiry: sessions of one user (sub) or provider session (sid)
 *   u:<hash>  one-time values (login state, logout token jti)
 *
 * Fail fast: no offline queue, a command timeout, so a Redis outage is a quick 503 rather than a
 * hang; ioredis reconnects by itself and service resumes when Redis is back.
 */
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { deflateRawSync, inflateRawSync } from 'node:zlib';
import { Cluster, Redis, type ClusterOptions, type RedisOptions } from 'ioredis';
import type { GatehouseConfig } from '../config/load.js';
import type { Counters } from '../security/rate-limit.js';
import { Aead } from './aead.js';
import { TrackingCache } from './tracking-cache.js';
import type { SessionData } from './session.js';
import { indexKeys, queryKey, type SessionQuery, type SessionStore } from './store.js';

export type RedisConfig = NonNullable<GatehouseConfig['session']['redis']>;

interface Scripts {
  ghUpdate(key: string, sealed: Buffer, touchedAt: number, ttl: number): Promise<number>;
  ghTouch(key: string, touchedAt: number, ttl: number): Promise<number>;
  ghIndex(key: string, member: string, expiresAt: number, now: number): Promise<number>;
  ghRelease(key: string, token: string): Promise<number>;
  ghHit(key: string, windowMs: number): Promise<number>;
}
type Client = (Redis | Cluster) & Scripts;

/** Opened records kept (about 2 KB each): the busy sessions of one instance. */
const OPENED_CACHE_SIZE = 5_000;

const SCRIPTS = {
  // Replace a session only if it still exists.
  ghUpdate: `if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], 'd', ARGV[1], 't', ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return 1`,
  // Record activity only if the session still exists, leaving its tokens alone.
  ghTouch: `if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], 't', ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1`,
  // Add a session to an index, drop entries past their absolute expiry, keep the index alive as long as its longest entry.
  ghIndex: `redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[3])
local ttl = tonumber(ARGV[2]) - tonumber(ARGV[3])
if redis.call('PTTL', KEYS[1]) < ttl then redis.call('PEXPIRE', KEYS[1], ttl) end
return 1`,
  // Count a hit in a rate-limit window; the counter expires with its window.
  ghHit: `local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return n`,
  // Release a lock only if we still hold it.
  ghRelease: `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`,
};

export interface RedisStoreOptions {
  redis: RedisConfig;
  secrets: readonly string[];
  /** Called with connection errors (rate-limited by the caller if it wants); the store never throws them. */
  onError?: (error: Error) => void;
}

export class RedisStore implements SessionStore, Counters {
  readonly #client: Client;
  readonly #aead: Aead;
  readonly #prefix: string;
  /** The last record read per session and what it opened to, so an unchanged one is not decrypted again. */
  readonly #opened = new Map<string, { sealed: Buffer; data: SessionData }>();
  /** Standalone mode: records kept in memory while Redis reports every change to them. */
  readonly #cache: TrackingCache<SessionData> | undefined;

  constructor(options: RedisStoreOptions) {
    this.#client = connect(options.redis);
    const onError = (error: Error) => options.onError?.(error);
    this.#client.on('error', onError);
    for (const [name, lua] of Object.entries(SCRIPTS)) this.#client.defineCommand(name, { numberOfKeys: 1, lua });
    this.#aead = new Aead(options.secrets, 'session-at-rest');
    this.#prefix = options.redis.keyPrefix;
    if (options.redis.cache && options.redis.mode === 'standalone') {
      const sessionPrefix = `${this.#prefix}s:{`;
      const sessionKeyOf = (redisKey: string) =>
        redisKey.startsWith(sessionPrefix) ? redisKey.slice(sessionPrefix.length, -1) : undefined;
      this.#cache = new TrackingCache(this.#client as Redis, sessionKeyOf, OPENED_CACHE_SIZE, onError);
    }
  }

  /** The record from the in-process cache, while Redis keeps it exact (see tracking-cache.ts). */
  peek(key: string): SessionData | undefined {
    const cached = this.#cache?.get(key);
    return cached && { ...cached };
  }

  /** The record as Redis holds it now (and, when the cache is armed, kept there for peek()). */
  async get(key: string): Promise<SessionData | undefined> {
    const ticket = this.#cache?.begin(key);
    let data: SessionData | undefined;
    try {
      const [sealed, touchedAt] = await this.#client.hmgetBuffer(this.#session(key), 'd', 't');
      data = sealed && touchedAt ? this.#open(key, sealed, Number(touchedAt)) : undefined;
    } finally {
      this.#cache?.complete(ticket, data); // also when the read failed: the ticket is used up either way
    }
    return data && { ...data };
  }

  /** Decrypts a record, unless it is the one last opened for this key. */
  #open(key: string, sealed: Buffer, touchedAt: number): SessionData | undefined {
    const opened = this.#opened.get(key);
    if (opened?.sealed.equals(sealed)) return { ...opened.data, touchedAt };
    const plaintext = this.#aead.open(sealed, key);
    if (!plaintext) return undefined; // sealed with a key no longer configured, or tampered with
    const data = decode(plaintext);
    if (this.#opened.size >= OPENED_CACHE_SIZE) this.#opened.delete(this.#opened.keys().next().value!);
    this.#opened.set(key, { sealed, data });
    return { ...data, touchedAt };
  }

  async set(key: string, data: SessionData, ttlMs: number): Promise<void> {
    // Index first: an index entry without its session is harmless, a session missing from its index is not.
    const now = Date.now();
    this.#cache?.evict(key);
    await Promise.all(indexKeys(data).map((name) => this.#client.ghIndex(this.#index(name), key, data.expiresAt, now)));
    await this.#client
      .multi()
      .hset(this.#session(key), 'd', this.#seal(key, data), 't', data.touchedAt)
      .pexpire(this.#session(key), Math.ceil(ttlMs))
      .exec();
  }

  async update(key: string, data: SessionData, ttlMs: number): Promise<boolean> {
    this.#cache?.evict(key);
    return (
      (await this.#client.ghUpdate(this.#session(key), this.#seal(key, data), data.touchedAt, Math.ceil(ttlMs))) === 1
    );
  }

  async touch(key: string, touchedAt: number, ttlMs: number): Promise<boolean> {
    this.#cache?.evict(key);
    return (await this.#client.ghTouch(this.#session(key), touchedAt, Math.ceil(ttlMs))) === 1;
  }

  async delete(key: string): Promise<void> {
    this.#opened.delete(key);
    this.#cache?.evict(key);
    await this.#client.del(this.#session(key));
  }

  async find(query: SessionQuery): Promise<string[]> {
    const keys = await this.#client.zrangebyscore(this.#index(queryKey(query)), Date.now(), '+inf');
    const live = await Promise.all(keys.map((key) => this.#client.exists(this.#session(key))));
    return keys.filter((_, i) => live[i] === 1);
  }

  /**
   * SCANs the session keys of every primary: one pass over the keyspace per metrics scrape, in
   * batches that never block Redis (100,000 sessions: about 100 round trips).
   */
  async count(): Promise<number> {
    const nodes = this.#client instanceof Cluster ? this.#client.nodes('master') : [this.#client as Redis];
    let value = 0;
    for (const node of nodes) {
      for await (const keys of node.scanStream({ match: `${this.#prefix}s:*`, count: 1000 })) {
        value += (keys as string[]).length;
      }
    }
    return value;
  }

  async markUsed(key: string, ttlMs: number): Promise<boolean> {
    return (await this.#client.set(this.#used(key), '1', 'PX', Math.ceil(ttlMs), 'NX')) === 'OK';
  }

  async lock(key: string, ttlMs: number): Promise<(() => Promise<void>) | undefined> {
    const name = `${this.#prefix}l:{${key}}`;
    const token = randomBytes(16).toString('base64url');
    if ((await this.#client.set(name, token, 'PX', Math.ceil(ttlMs), 'NX')) !== 'OK') return undefined;
    return async () => {
      await this.#client.ghRelease(name, token);
    };
  }

  async connect(timeoutMs: number): Promise<void> {
    if (this.#client.status === 'ready') return;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#client.off('ready', ready);
        reject(new Error(`not connected to Redis within ${timeoutMs} ms`));
      }, timeoutMs);
      const ready = () => {
        clearTimeout(timer);
        resolve();
      };
      this.#client.once('ready', ready);
    });
  }

  /** A rate-limit hit (see security/rate-limit.ts): counters shared by every instance. */
  async hit(key: string, windowMs: number): Promise<number> {
    return this.#client.ghHit(`${this.#prefix}r:${createHash('sha256').update(key).digest('base64url')}`, windowMs);
  }

  async ping(): Promise<void> {
    await this.#client.ping();
  }

  async close(): Promise<void> {
    this.#cache?.close();
    this.#client.disconnect();
  }

  #seal(key: string, data: SessionData): Buffer {
    return this.#aead.seal(encode(data), key);
  }

  #session(key: string): string {
    return `${this.#prefix}s:{${key}}`;
  }

  #index(name: string): string {
    return `${this.#prefix}i:${createHash('sha256').update(name).digest('base64url')}`;
  }

  #used(name: string): string {
    return `${this.#prefix}u:${createHash('sha256').update(name).digest('base64url')}`;
  }
}

function connect(config: RedisConfig): Client {
  const common: RedisOptions = {
    // Only when given: credentials in a redis:// URL must not be overridden by undefined.
    ...(config.username === undefined ? {} : { username: config.username }),
    ...(config.password === undefined ? {} : { password: config.password }),
    connectTimeout: config.connectTimeout,
    commandTimeout: config.commandTimeout,
    // Fail fast while disconnected instead of queueing requests until Redis returns.
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    retryStrategy: (attempt) => Math.min(attempt * 100, 2000),
    tls: tlsOptions(config),
  };
  if (config.mode === 'cluster') {
    const options: ClusterOptions = {
      redisOptions: common,
      enableOfflineQueue: false,
      clusterRetryStrategy: (attempt) => Math.min(attempt * 100, 2000),
      // ElastiCache with TLS: connect to the configured names so certificates match.
      dnsLookup: (address, callback) => callback(null, address),
    };
    return new Cluster(config.nodes.map(hostPort), options) as Client;
  }
  if (config.mode === 'sentinel') {
    return new Redis({
      ...common,
      sentinels: config.nodes.map(hostPort),
      name: config.sentinelName,
      sentinelUsername: config.username,
      sentinelPassword: config.password,
      enableTLSForSentinelMode: config.tls,
    }) as Client;
  }
  return new Redis(config.url!, common) as Client;
}

function tlsOptions(config: RedisConfig): RedisOptions['tls'] {
  const wantsTls = config.tls || config.url?.startsWith('rediss://');
  if (!wantsTls) return undefined;
  return config.tlsCaFile ? { ca: readFileSync(config.tlsCaFile) } : {};
}

function hostPort(node: string): { host: string; port: number } {
  const at = node.lastIndexOf(':');
  return { host: node.slice(0, at), port: Number(node.slice(at + 1)) };
}

/**
 * Sessions are compressed before they are sealed, which keeps one under 2 KiB of Redis memory. Most
 * of a session is its JWTs, whose base64url hides their JSON from the compressor, so their header
 * and payload are stored as the JSON text they encode (byte for byte: the signature stays valid).
 * A leading marker byte tells this from the plain JSON that earlier versions wrote ("{"), so
 * sessions live across an upgrade.
 */
const PACKED = 0x02;
const JWT_FIELDS = ['accessToken', 'idToken'] as const;

function encode(data: SessionData): Buffer {
  const tokens: Record<string, unknown> = { ...data.tokens };
  for (const field of JWT_FIELDS) tokens[field] = unpackedJwt(data.tokens[field]) ?? data.tokens[field];
  return Buffer.concat([Buffer.of(PACKED), deflateRawSync(JSON.stringify({ ...data, tokens }))]);
}

function decode(plaintext: Buffer): SessionData {
  if (plaintext[0] !== PACKED) return JSON.parse(plaintext.toString()) as SessionData;
  const data = JSON.parse(inflateRawSync(plaintext.subarray(1)).toString()) as SessionData;
  const tokens = data.tokens as unknown as Record<string, unknown>;
  for (const field of JWT_FIELDS) {
    const value = tokens[field];
    if (Array.isArray(value)) tokens[field] = [...value.slice(0, 2).map(base64url), value[2]].join('.');
  }
  return data;
}

/** [header JSON, payload JSON, signature] of a JWT, when that round-trips exactly. */
function unpackedJwt(token: string | undefined): [string, string, string] | undefined {
  const parts = token?.split('.');
  if (parts?.length !== 3) return undefined;
  const [header, payload] = parts.slice(0, 2).map((part) => Buffer.from(part, 'base64url').toString());
  if (base64url(header!) !== parts[0] || base64url(payload!) !== parts[1]) return undefined;
  return [header!, payload!, parts[2]!];
}

const base64url = (text: string) => Buffer.from(text).toString('base64url');
