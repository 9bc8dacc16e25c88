/**
 * sessions100k: does a big Redis cost throughput, and what does one session cost Redis?
 *
 * Gatehouse (redis mode) with one real signed-in session, measured with 100 live sessions in its
 * key space, then again with 100,000. The other sessions are written with Gatehouse's own
 * RedisStore (same key prefix, same secrets, so the same records and indexes Gatehouse writes),
 * each a copy of the real session's shape with its own user, provider session and tokens (JWTs
 * with that user's claims, ids and signatures of the real ones' lengths): what 100,000 different
 * users signed in would leave behind.
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type { GatehouseConfig } from '../../packages/gatehouse/src/config/load.js';
import { RedisStore } from '../../packages/gatehouse/src/session/redis-store.js';
import type { SessionData } from '../../packages/gatehouse/src/session/session.js';
import { measure, problems } from '../lib/measure.js';
import { onCleanup } from '../lib/processes.js';
import { deleteKeys, memoryUsage, redisClient, usedMemory } from '../lib/redis.js';
import { check, fmt, table, type Results } from '../lib/report.js';
import { keyPrefix, startTarget, type Lab } from '../lib/targets.js';
import { ORDER_PATH } from '../lib/upstream.js';
import { busy, runnable } from './throughput.js';

const IDLE_MS = 30 * 60_000; // Gatehouse's default idle timeout: the TTL its own sessions get
const IN_FLIGHT = 256;

/** Random base64url text of exactly `length` characters. */
const randomText = (length: number) =>
  randomBytes(Math.ceil((length * 3) / 4))
    .toString('base64url')
    .slice(0, length);

/**
 * A token like `token` for user `i`: a JWT stays a JWT (the same header, the same claims with this
 * user's values and fresh ids of the same lengths, a random signature of the same length), since
 * Gatehouse stores a JWT's JSON and compresses it; anything else becomes random text of its length.
 */
function lookalike(token: string | undefined, i: number): string | undefined {
  if (token === undefined) return undefined;
  const parts = token.split('.');
  if (parts.length !== 3) return randomText(token.length);
  const claims = JSON.parse(Buffer.from(parts[1]!, 'base64url').toString()) as Record<string, unknown>;
  const now = Math.floor(Date.now() / 1000);
  for (const [name, value] of Object.entries(claims)) {
    if (['jti', 'sid', 'nonce', 'at_hash', 'c_hash', 's_hash'].includes(name) && typeof value === 'string') {
      claims[name] = randomText(value.length);
    }
  }
  if (typeof claims.sub === 'string') claims.sub = `user-${i}`;
  if (typeof claims.email === 'string') claims.email = `user-${i}@example.com`;
  if (typeof claims.name === 'string') claims.name = `User Number ${i}`;
  if (typeof claims.exp === 'number' && typeof claims.iat === 'number') {
    claims.exp = now + (claims.exp - claims.iat);
    claims.iat = now;
  }
  const payload = Buffer.from(JSON.stringify(claims)).toString('base64url');
  return [parts[0], payload, randomText(parts[2]!.length)].join('.');
}

function sessionLike(real: SessionData, i: number): SessionData {
  const now = Date.now();
  return {
    ...real,
    sub: `user-${i}`,
    sid: real.sid === undefined ? undefined : randomUUID(),
    tokens: {
      ...real.tokens,
      accessToken: lookalike(real.tokens.accessToken, i)!,
      refreshToken: lookalike(real.tokens.refreshToken, i),
      idToken: lookalike(real.tokens.idToken, i),
      obtainedAt: now,
    },
    createdAt: now,
    touchedAt: now,
    logoutKey: randomBytes(16).toString('base64url'),
  };
}

async function writeSessions(store: RedisStore, real: SessionData, from: number, to: number): Promise<void> {
  let next = from;
  await Promise.all(
    Array.from({ length: IN_FLIGHT }, async () => {
      while (next < to) {
        const i = next++;
        const key = createHash('sha256').update(randomBytes(32)).digest('base64url');
        await store.set(key, sessionLike(real, i), IDLE_MS);
      }
    }),
  );
}

export async function sessions(lab: Lab, results: Results): Promise<void> {
  if (runnable(lab, ['gh-redis'], results, 'sessions100k').length === 0) return;
  const total = lab.options.sessions;
  const prefix = keyPrefix(lab, 'sessions100k');
  const forget = onCleanup(async () => void (await deleteKeys(lab.redisUrl, prefix)));
  const target = await startTarget(lab, 'gh-redis', { keyPrefix: prefix });
  const redis = redisClient(lab.redisUrl);
  const redisConfig: NonNullable<GatehouseConfig['session']['redis']> = {
    mode: 'standalone',
    url: lab.redisUrl,
    nodes: [],
    tls: false,
    keyPrefix: prefix,
    commandTimeout: 10_000,
    connectTimeout: 5_000,
    cache: false, // this store only writes the sessions
  };
  const store = new RedisStore({ redis: redisConfig, secrets: target.gatehouse!.secrets });
  try {
    await redis.connect();
    await store.connect(5_000);
    const realKey = createHash('sha256').update(target.gatehouse!.sessionCookie).digest('base64url');
    const real = await store.get(realKey);
    if (!real) throw new Error('the signed-in session is not in Redis under the expected key');

    // What one real session costs: its record, plus the index entries (user, provider session) it owns.
    const realKeys = [`${prefix}s:{${realKey}}`];
    for await (const keys of redis.scanStream({ match: `${prefix}i:*`, count: 1000 }))
      realKeys.push(...(keys as string[]));
    const recordBytes = await memoryUsage(redis, realKeys[0]!);
    let indexBytes = 0;
    for (const key of realKeys.slice(1)) indexBytes += await memoryUsage(redis, key);

    // 100, then 100,000, then 100 again: the ratio compares the big run with both small ones, so a
    // process still warming up, or a neighbour's load coming and going, does not pass for a cost.
    await writeSessions(store, real, 1, 100);
    process.stdout.write('sessions100k: 100 live sessions...\n');
    const small = await measure(lab, target, { path: ORDER_PATH });

    const before = await usedMemory(redis);
    const started = Date.now();
    await writeSessions(store, real, 100, total);
    const writeSeconds = (Date.now() - started) / 1000;
    const after = await usedMemory(redis);
    const perSession = (after - before) / (total - 100);
    process.stdout.write(`sessions100k: wrote ${total - 100} sessions in ${writeSeconds.toFixed(1)} s; measuring...\n`);
    const big = await measure(lab, target, { path: ORDER_PATH });

    await deleteKeys(lab.redisUrl, prefix, new Set(realKeys));
    await writeSessions(store, real, 1, 100);
    process.stdout.write('sessions100k: back to 100 live sessions...\n');
    const smallAgain = await measure(lab, target, { path: ORDER_PATH });
    const ratio = big.rps / ((small.rps + smallAgain.rps) / 2);

    const row = (label: string, m: typeof small, vs: string) => [
      label,
      fmt.rps(m.rps),
      fmt.ms(m.p50Ms),
      fmt.ms(m.p99Ms),
      vs,
      [problems(m), busy(m)].filter(Boolean).join('; '),
    ];
    table(
      `sessions100k: Gatehouse redis mode, GET 1 KiB, one signed-in session hit by ${lab.options.connections} connections`,
      ['live sessions', 'req/s', 'p50 ms', 'p99 ms', 'vs 100', 'problems'],
      [
        row('100', small, ''),
        row(total.toLocaleString('en-US'), big, fmt.ratio(ratio)),
        row('100 again', smallAgain, ''),
      ],
    );
    table(
      'sessions100k: Redis memory per session',
      ['what', 'bytes'],
      [
        ['MEMORY USAGE of a real session record (s:{key} hash)', String(recordBytes)],
        ['MEMORY USAGE of its index entries (i:<user>, i:<provider session>)', String(indexBytes)],
        ['real session, record + indexes', String(recordBytes + indexBytes)],
        [
          `INFO used_memory growth / session, over ${(total - 100).toLocaleString('en-US')} sessions`,
          String(Math.round(perSession)),
        ],
      ],
    );
    results.scenarios.sessions100k = {
      sessions: total,
      small,
      big,
      smallAgain,
      ratio,
      writeSeconds,
      memory: { recordBytes, indexBytes, usedMemoryBefore: before, usedMemoryAfter: after, perSession },
      tokenLengths: {
        access: real.tokens.accessToken.length,
        refresh: real.tokens.refreshToken?.length,
        id: real.tokens.idToken?.length,
      },
    };
    check(
      results,
      'sessions100k',
      `throughput with ${total.toLocaleString('en-US')} sessions vs 100`,
      '>= 0.95x (no cost, within noise)',
      `${fmt.ratio(ratio)} (${fmt.rps(big.rps)} vs ${fmt.rps(small.rps)} and ${fmt.rps(smallAgain.rps)} req/s)`,
      ratio >= 0.95 && !problems(small) && !problems(big) && !problems(smallAgain),
    );
    check(
      results,
      'sessions100k',
      'Redis memory per session (MEMORY USAGE, record + its indexes)',
      '<= 2048 bytes',
      `${recordBytes + indexBytes} bytes (record ${recordBytes}, indexes ${indexBytes}); INFO average ${Math.round(perSession)}`,
      recordBytes + indexBytes <= 2048,
    );
  } finally {
    await target.stop();
    await store.close();
    redis.disconnect();
    const deleted = await deleteKeys(lab.redisUrl, prefix);
    forget();
    process.stdout.write(`sessions100k: removed ${deleted} keys\n`);
  }
}
