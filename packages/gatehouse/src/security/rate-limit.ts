/**
 * Rate limits: fixed-window counters per client IP (every request), per session (API calls, per
 * route if it says so), and per IP for sign-in. Counters live in this process, or in Redis so that
 * a limit holds across instances. Past a limit: 429 rate_limited with Retry-After.
 */
import type { GatehouseConfig } from '../config/load.js';
import { GatehouseError } from '../errors.js';
import { ExpiringMap } from '../session/expiring-map.js';

export interface Limit {
  requests: number;
  /** Milliseconds. */
  window: number;
}

/** Counts hits in the current window of a key; resolves to the count so far (this hit included). */
export interface Counters {
  hit(key: string, windowMs: number): Promise<number>;
}

/** Counters in this process, bounded so a flood of distinct keys cannot exhaust memory. */
export class MemoryCounters implements Counters {
  readonly #counts = new ExpiringMap<{ n: number }>(100_000);

  async hit(key: string, windowMs: number): Promise<number> {
    const counter = this.#counts.get(key);
    if (counter) return ++counter.n;
    this.#counts.set(key, { n: 1 }, windowMs);
    return 1;
  }
}

export class RateLimiter {
  readonly #enabled: boolean;

  constructor(
    readonly config: GatehouseConfig['rateLimit'],
    private readonly counters: Counters,
  ) {
    this.#enabled = config.enabled;
  }

  /** Counts one request against `limit` for `subject`; throws rate_limited past it. */
  async check(scope: string, subject: string, limit: Limit): Promise<void> {
    if (!this.#enabled) return;
    const window = Math.floor(Date.now() / limit.window);
    const count = await this.counters.hit(`${scope}|${subject}|${window}`, limit.window);
    if (count <= limit.requests) return;
    const retryAfter = Math.max(1, Math.ceil(((window + 1) * limit.window - Date.now()) / 1000));
    throw new GatehouseError('rate_limited', {
      detail: `${scope} limit of ${limit.requests} per ${limit.window} ms`,
      headers: { 'retry-after': String(retryAfter) },
    });
  }
}
