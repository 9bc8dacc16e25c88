/** Redis for the bench itself: is it there, how much memory, and removing what a run wrote. */
import { Redis } from 'ioredis';

export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

export function redisClient(url = REDIS_URL): Redis {
  return new Redis(url, { maxRetriesPerRequest: 1, connectTimeout: 2_000, lazyConnect: true });
}

export async function redisReachable(url = REDIS_URL): Promise<boolean> {
  const client = new Redis(url, {
    lazyConnect: true,
    connectTimeout: 1_000,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  client.on('error', () => {});
  try {
    await client.connect();
    await client.ping();
    return true;
  } catch {
    return false;
  } finally {
    client.disconnect();
  }
}

/** Deletes every key under `prefix` but `keep` (SCAN + UNLINK in batches, never KEYS); returns how many. */
export async function deleteKeys(url: string, prefix: string, keep: ReadonlySet<string> = new Set()): Promise<number> {
  const client = redisClient(url);
  await client.connect();
  let deleted = 0;
  try {
    for await (const keys of client.scanStream({ match: `${prefix}*`, count: 1000 })) {
      const doomed = (keys as string[]).filter((key) => !keep.has(key));
      if (doomed.length > 0) deleted += await client.unlink(...doomed);
    }
  } finally {
    client.disconnect();
  }
  return deleted;
}

export async function usedMemory(client: Redis): Promise<number> {
  const info = await client.info('memory');
  return Number(/used_memory:(\d+)/.exec(info)?.[1]);
}

export async function memoryUsage(client: Redis, key: string): Promise<number> {
  // SAMPLES 0: every element of a collection, not an estimate from a few
  return Number(await client.call('MEMORY', 'USAGE', key, 'SAMPLES', '0'));
}
