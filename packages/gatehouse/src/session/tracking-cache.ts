/**
 * An in-process cache of session records that stays correct when another instance changes or ends a
 * session, so the hot path does not ask Redis on every call. It uses Redis client-side caching
 * (CLIENT TRACKING, redirect mode): Redis remembers which keys this instance read and pushes an
 * invalidation on a second connection as soon as any client writes, deletes or expires one of them.
 *
 * The cache only answers while invalidations are sure to arrive: when either connection drops it is
 * emptied and stays off until tracking is re-armed. A read that an invalidation overtakes (the two
 * arrive on different connections) is not cached. Reads that must see the newest record (token
 * refresh, revocation checks) bypass it.
 */
import type { Redis } from 'ioredis';

const CHANNEL = '__redis__:invalidate';

interface Ticket {
  key: string;
  epoch: number;
}

export class TrackingCache<V> {
  readonly #entries = new Map<string, V>();
  /** Reads in flight that may be cached when they complete (the latest per key). */
  readonly #pending = new Map<string, Ticket>();
  readonly #subscriber: Redis;
  /** Bumped whenever the guarantee is lost, so reads started before cannot be cached after. */
  #epoch = 0;
  #armed = false;
  #redirectId: string | undefined;

  constructor(
    private readonly main: Redis,
    /** The session key of a Redis key, or undefined for keys that are not sessions. */
    private readonly sessionKeyOf: (redisKey: string) => string | undefined,
    private readonly maxEntries: number,
    private readonly onError: (error: Error) => void,
  ) {
    this.#subscriber = main.duplicate({ autoResubscribe: false, enableOfflineQueue: false });
    this.#subscriber.on('error', (error: Error) => onError(error));
    this.#subscriber.on('messageBuffer', (channel: Buffer, keys: Buffer[] | null) => {
      if (channel.toString() !== CHANNEL) return;
      if (!Array.isArray(keys)) return this.#flush(); // FLUSHALL / FLUSHDB
      for (const redisKey of keys) {
        const key = this.sessionKeyOf(redisKey.toString());
        if (key !== undefined) this.evict(key);
      }
    });
    this.#subscriber.on('ready', () => {
      this.#redirectId = undefined;
      void this.#arm();
    });
    main.on('ready', () => void this.#arm());
    for (const connection of [main, this.#subscriber]) {
      connection.on('close', () => this.#disarm());
      connection.on('reconnecting', () => this.#disarm());
    }
  }

  /** The cached record, if the cache is armed and has it. */
  get(key: string): V | undefined {
    return this.#armed ? this.#entries.get(key) : undefined;
  }

  /** Call before reading `key` from Redis; pass the result to complete() with the record read. */
  begin(key: string): Ticket | undefined {
    if (!this.#armed) return undefined;
    const ticket = { key, epoch: this.#epoch };
    this.#pending.set(key, ticket);
    return ticket;
  }

  /** Caches what a read returned, unless the key changed (or tracking lapsed) while it was in flight. */
  complete(ticket: Ticket | undefined, value: V | undefined): void {
    if (!ticket || this.#pending.get(ticket.key) !== ticket) return;
    this.#pending.delete(ticket.key);
    if (!this.#armed || ticket.epoch !== this.#epoch || value === undefined) return;
    if (this.#entries.size >= this.maxEntries) this.#entries.delete(this.#entries.keys().next().value!);
    this.#entries.set(ticket.key, value);
  }

  /** Forgets a key: it was written or deleted (here, or by anyone, as Redis reports). */
  evict(key: string): void {
    this.#entries.delete(key);
    this.#pending.delete(key);
  }

  get armed(): boolean {
    return this.#armed;
  }

  close(): void {
    this.#disarm();
    this.#subscriber.disconnect();
  }

  /** Subscribes the second connection and points the main connection's tracking at it. */
  async #arm(): Promise<void> {
    this.#disarm();
    const epoch = this.#epoch;
    if (this.main.status !== 'ready' || this.#subscriber.status !== 'ready') return;
    try {
      if (this.#redirectId === undefined) {
        const id = String(await this.#subscriber.client('ID'));
        await this.#subscriber.subscribe(CHANNEL);
        this.#redirectId = id;
      }
      await this.main.call('CLIENT', 'TRACKING', 'ON', 'REDIRECT', this.#redirectId);
      // Nothing was lost meanwhile: a reconnect would have bumped the epoch.
      if (epoch === this.#epoch) this.#armed = true;
    } catch (error) {
      // e.g. a Redis without CLIENT TRACKING (before 6.0) or an ACL that forbids it: no cache.
      this.onError(error as Error);
    }
  }

  #disarm(): void {
    this.#armed = false;
    this.#epoch++;
    this.#flush();
  }

  #flush(): void {
    this.#entries.clear();
    this.#pending.clear();
  }
}
