import type { Log } from '../http/exchange.js';
import type { GatehouseConfig } from '../config/load.js';
import { MemoryStore } from './memory-store.js';
import { RedisStore } from './redis-store.js';
import type { SessionStore } from './store.js';

/** Log a failing connection at most this often; it retries by itself meanwhile. */
const ERROR_LOG_INTERVAL_MS = 5_000;

/** The configured server-side store ("cookie" mode has none). */
export function createStore(config: GatehouseConfig, log: Log): SessionStore {
  const { store, redis, memory, secrets } = config.session;
  if (store === 'redis' && redis) {
    let lastLogged = 0;
    return new RedisStore({
      redis,
      secrets,
      onError: (error) => {
        if (Date.now() - lastLogged < ERROR_LOG_INTERVAL_MS) return;
        lastLogged = Date.now();
        log.error({ err: error }, 'session store (redis) connection error; retrying');
      },
    });
  }
  if (process.env.NODE_ENV === 'production') {
    log.warn(
      'session.store is "memory": sessions live in this process only and end when it restarts; use "redis" to run several instances',
    );
  }
  return new MemoryStore({ maxSessions: memory.maxSessions });
}
