/**
 * The Redis store with a real Redis: instances acting as one, exactly one refresh across
 * instances, nothing usable at rest, key rotation, and outages that lose no session.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { SignJWT, jwtVerify } from 'jose';
import type { GatehouseConfigInput } from '../src/config/schema.js';
import { parseConfig } from '../src/config/load.js';
import { Aead } from '../src/session/aead.js';
import { RedisStore } from '../src/session/redis-store.js';
import { sessionKey } from '../src/session/store-sessions.js';
import { TrackingCache } from '../src/session/tracking-cache.js';
import type { SessionData } from '../src/session/session.js';
import { TestBrowser } from './support/browser.js';
import {
  REDIS_URL,
  dumpRedis,
  monitorRedis,
  redisUnavailable,
  startPrivateRedis,
  testPrefix,
} from './support/redis.js';
import { leakedTokens, signIn, startStack, type Stack } from './support/stack.js';

const skip = await redisUnavailable();

/** The stack's default configuration, with sessions in Redis under a prefix of their own. */
function inRedis(url: string, prefix: string, more: (c: GatehouseConfigInput) => GatehouseConfigInput = (c) => c) {
  return (defaults: GatehouseConfigInput): GatehouseConfigInput =>
    more({ ...defaults, session: { ...defaults.session!, store: 'redis', redis: { url, keyPrefix: prefix } } });
}

describe('redis store: many instances acting as one', { skip }, () => {
  const prefix = testPrefix();
  let stack: Stack;
  before(async () => {
    stack = await startStack({
      idp: { accessTokenTtlSeconds: 2 },
      gatehouse: inRedis(REDIS_URL, prefix, (c) => ({ ...c, oidc: { ...c.oidc, refreshSkew: '0s' } })),
    });
  });
  after(() => stack.close());

  it('serves a session created on instance A from instance B, and a logout on B ends it on A', async () => {
    const b = await stack.peer();
    const browser = new TestBrowser();
    await signIn(browser, stack);
    assert.equal(
      (await browser.api(`${b.url}/api/orders/1`, { balancedAs: stack.app })).status,
      200,
      'B knows the session',
    );
    assert.equal(
      JSON.parse((await browser.api(`${b.url}/api/auth/user`, { balancedAs: stack.app })).body).sub,
      'alice',
    );
    const cookie = await browser.cookie(stack.app, '__Host-gatehouse');
    assert.equal(
      (await browser.api(`${b.url}/api/auth/logout`, { balancedAs: stack.app, method: 'POST' })).status,
      200,
    );
    const replay = await new TestBrowser().request(`${stack.app}/api/orders`, {
      headers: { cookie: `__Host-gatehouse=${cookie}`, 'x-csrf': '1' },
    });
    assert.equal(replay.status, 401, 'A no longer honours it');
  });

  it('refreshes once across two instances: 50 concurrent calls split over both after expiry', async () => {
    const b = await stack.peer();
    const browser = new TestBrowser();
    await signIn(browser, stack);
    for (let round = 1; round <= 2; round++) {
      await sleep(2200);
      const refreshes = stack.idp.grants.filter((g) => g.grantType === 'refresh_token').length;
      const responses = await Promise.all(
        Array.from({ length: 50 }, (_, i) =>
          browser.api(`${i % 2 ? b.url : stack.app}/api/orders/${i}`, { balancedAs: stack.app }),
        ),
      );
      assert.deepEqual(new Set(responses.map((r) => r.status)), new Set([200]), `round ${round}: all succeeded`);
      const grants = stack.idp.grants.filter((g) => g.grantType === 'refresh_token').slice(refreshes);
      assert.equal(grants.length, 1, `round ${round}: exactly one refresh grant across both instances`);
      assert.ok(grants[0]!.ok);
    }
  });

  it('keeps nothing usable in Redis: no token, no session id, no user id in clear', async () => {
    const browser = new TestBrowser();
    await signIn(browser, stack);
    await browser.api(`${stack.app}/api/orders`);
    const sessionId = (await browser.cookie(stack.app, '__Host-gatehouse'))!;
    const dump = await dumpRedis(REDIS_URL, prefix);
    assert.ok(dump.size > 0);
    const everything = [...dump].map(([k, v]) => `${k}\n${v}`).join('\n');
    const tokens = stack.idp.issuedTokens().flatMap((t) => [t, ...t.split('.').filter((part) => part.length > 20)]);
    for (const token of tokens) assert.ok(!everything.includes(token), 'a token (or a part of one) is stored in clear');
    assert.ok(!everything.includes(sessionId), 'the raw session id is stored');
    assert.doesNotMatch(everything, /eyJ[\w-]{8,}\.eyJ[\w-]{8,}/, 'something JWT-shaped is stored in clear');
    assert.ok(!everything.includes('alice'), 'the user id is stored in clear');
  });

  it('keeps a session under 2 KiB of Redis memory: its hash and its provider-session index (MEMORY USAGE)', async () => {
    const browser = new TestBrowser();
    await signIn(browser, stack);
    const client = new Redis(REDIS_URL);
    try {
      const usage = async (pattern: string) => {
        const keys = await client.keys(`${prefix}${pattern}`);
        return Promise.all(keys.map(async (k) => Number(await client.call('MEMORY', 'USAGE', k))));
      };
      const sessions = await usage('s:*');
      const indexes = await usage('i:*');
      assert.ok(sessions.length > 0 && indexes.length > 0);
      // Each session has its own sid index; the sub index is shared by all of a user's sessions.
      const perSession = Math.max(...sessions) + Math.min(...indexes);
      assert.ok(perSession <= 2048, `${Math.max(...sessions)} B + ${Math.min(...indexes)} B per session`);
    } finally {
      client.disconnect();
    }
  });

  it('lets each session expire by itself after the idle timeout, capped by the absolute lifetime', async () => {
    const browser = new TestBrowser();
    await signIn(browser, stack);
    const client = new Redis(REDIS_URL);
    try {
      const keys = await client.keys(`${prefix}s:*`);
      const ttls = await Promise.all(keys.map((k) => client.pttl(k)));
      for (const ttl of ttls) assert.ok(ttl > 0 && ttl <= 30 * 60_000, `ttl ${ttl} follows the 30 min idle timeout`);
    } finally {
      client.disconnect();
    }
  });
});

describe('redis store: the in-process session cache', { skip }, () => {
  const prefix = testPrefix();
  let stack: Stack;
  let monitor: { stop(): void };
  /** Every command Redis receives, as [client address, command, first key]. */
  const commands: [string, string, string][] = [];
  before(async () => {
    stack = await startStack({ gatehouse: inRedis(REDIS_URL, prefix) });
    monitor = await monitorRedis(REDIS_URL, ({ source, args }) => {
      if (String(args[1]).startsWith(prefix)) commands.push([source, args[0]!, args[1]!]);
    });
  });
  after(async () => {
    monitor.stop();
    await stack.close();
  });

  async function signedIn() {
    const browser = new TestBrowser();
    await signIn(browser, stack);
    const id = (await browser.cookie(stack.app, '__Host-gatehouse'))!;
    return { browser, id, redisKey: `${prefix}s:{${sessionKey(id)}}` };
  }
  const readsOf = (redisKey: string) => commands.filter(([, command, key]) => command === 'hmget' && key === redisKey);
  /** MONITOR reports a little after the fact. */
  const settle = () => sleep(50);

  it('answers repeated calls from memory: twenty calls, one Redis read', async () => {
    const { browser, redisKey } = await signedIn();
    await settle();
    const before = readsOf(redisKey).length;
    for (let i = 0; i < 20; i++) assert.equal((await browser.api(`${stack.app}/api/orders/${i}`)).status, 200);
    await settle();
    assert.ok(readsOf(redisKey).length - before <= 1, `${readsOf(redisKey).length - before} reads`);
  });

  it('keeps no read that an invalidation overtook, and drops what Redis says changed', async () => {
    const main = new Redis(REDIS_URL);
    const writer = new Redis(REDIS_URL);
    const cache = new TrackingCache<string>(
      main,
      (redisKey) => redisKey,
      10,
      () => {},
    );
    try {
      for (let i = 0; i < 100 && !cache.armed; i++) await sleep(10);
      assert.ok(cache.armed, 'tracking is on');
      // The invalidation arrives while the read is still in flight: the read's value is stale.
      const overtaken = cache.begin('k');
      cache.evict('k');
      cache.complete(overtaken, 'stale');
      assert.equal(cache.get('k'), undefined);
      // A real invalidation: this connection read the key, another client writes it.
      const key = `${prefix}probe`;
      const ticket = cache.begin(key);
      cache.complete(ticket, String(await main.get(key)));
      assert.equal(cache.get(key), 'null');
      await writer.set(key, 'changed', 'PX', 10_000);
      for (let i = 0; i < 100 && cache.get(key) !== undefined; i++) await sleep(10);
      assert.equal(cache.get(key), undefined, 'Redis reported the write');
    } finally {
      cache.close();
      main.disconnect();
      writer.disconnect();
    }
  });

  it('ends a cached session at once when another instance logs it out', async () => {
    const b = await stack.peer();
    const { browser, id } = await signedIn();
    for (let i = 0; i < 3; i++) assert.equal((await browser.api(`${stack.app}/api/orders`)).status, 200);
    const logout = await browser.api(`${b.url}/api/auth/logout`, { balancedAs: stack.app, method: 'POST' });
    assert.equal(logout.status, 200);
    const replay = await new TestBrowser().request(`${stack.app}/api/orders`, {
      headers: { cookie: `__Host-gatehouse=${id}`, 'x-csrf': '1' },
    });
    assert.equal(replay.status, 401, 'A no longer honours it');
  });

  it('empties and stops the cache while its invalidation connection is lost, and resumes once it is back', async () => {
    const { id, redisKey } = await signedIn();
    // With the cookie set by hand: a refused call clears the browser's cookie, and this one comes back.
    const call = () =>
      new TestBrowser().request(`${stack.app}/api/orders`, {
        headers: { cookie: `__Host-gatehouse=${id}`, 'x-csrf': '1' },
      });
    assert.equal((await call()).status, 200);
    await settle();
    // The instance's main connection is the one that read the session; its tracking names the other.
    const reader = readsOf(redisKey).at(-1)![0];
    const admin = new Redis(REDIS_URL);
    try {
      const clients = String(await admin.client('LIST')).split('\n');
      const redirect = /\bredir=(\d+)/.exec(clients.find((line) => line.includes(`addr=${reader} `))!)![1]!;
      await admin.client('KILL', 'ID', redirect);
      await sleep(50);
      // Revoked behind the instance's back while it cannot hear about it: it must ask Redis.
      const kept = await admin.hgetallBuffer(redisKey);
      await admin.del(redisKey);
      assert.equal((await call()).status, 401);
      // Put it back, and wait for the cache to come back: reads stop reaching Redis again.
      await admin.hset(redisKey, kept);
      await admin.pexpire(redisKey, 60_000);
      let reads = Infinity;
      for (let attempt = 0; attempt < 40 && reads > 1; attempt++) {
        await sleep(100);
        await settle();
        const before = readsOf(redisKey).length;
        for (let i = 0; i < 5; i++) assert.equal((await call()).status, 200);
        await settle();
        reads = readsOf(redisKey).length - before;
      }
      assert.ok(reads <= 1, 'the cache is armed again');
    } finally {
      admin.disconnect();
    }
  });
});

describe('redis store: secrets rotate without logging anyone out', { skip }, () => {
  it('opens sessions sealed with the previous secret after a new one is added first', async () => {
    const prefix = testPrefix();
    const oldSecret = randomBytes(32).toString('base64url');
    const stack = await startStack({
      gatehouse: inRedis(REDIS_URL, prefix, (c) => ({ ...c, session: { ...c.session!, secrets: [oldSecret] } })),
    });
    try {
      const browser = new TestBrowser();
      await signIn(browser, stack);
      const withSecrets = (secrets: string[]) => (c: GatehouseConfigInput) => ({
        ...c,
        session: { ...c.session!, secrets },
      });
      const rotated = await stack.peer(withSecrets([randomBytes(32).toString('base64url'), oldSecret]));
      assert.equal(
        (await browser.api(`${rotated.url}/api/auth/user`, { balancedAs: stack.app })).status,
        200,
        'the old session still opens',
      );
      const dropped = await stack.peer(withSecrets([randomBytes(32).toString('base64url')]));
      assert.equal(
        (await browser.api(`${dropped.url}/api/auth/user`, { balancedAs: stack.app })).status,
        401,
        'a removed secret opens nothing',
      );
    } finally {
      await stack.close();
    }
  });
});

describe('redis store: outages', { skip }, () => {
  it('answers 503 fast while Redis is down, stays alive, and serves the same sessions when it is back', async () => {
    const redis = await startPrivateRedis();
    const stack = await startStack({
      gatehouse: inRedis(redis.url, testPrefix(), (c) => ({
        ...c,
        session: { ...c.session!, redis: { ...c.session!.redis!, commandTimeout: '500ms', connectTimeout: '500ms' } },
        rateLimit: { enabled: false }, // the traffic below is a flood on purpose
      })),
    });
    try {
      const browser = new TestBrowser();
      await signIn(browser, stack);
      assert.equal((await browser.api(`${stack.app}/api/orders`)).status, 200);

      // Traffic keeps flowing while Redis goes away and comes back: only 200s and 503s, never a crash.
      const statuses = new Set<number>();
      let flowing = true;
      const traffic = (async () => {
        while (flowing) statuses.add((await browser.api(`${stack.app}/api/orders`)).status);
      })();
      await sleep(100);
      await redis.stop();
      await sleep(300);
      await redis.start();
      await sleep(800);
      flowing = false;
      await traffic;
      assert.ok(
        [...statuses].every((s) => s === 200 || s === 503),
        `statuses seen: ${[...statuses]}`,
      );
      assert.ok(statuses.has(503), 'the outage was noticed');

      await redis.stop();
      const calls = stack.upstream.received.length;
      for (let i = 0; i < 5; i++) {
        const started = Date.now();
        const response = await browser.api(`${stack.app}/api/orders`);
        assert.equal(response.status, 503);
        assert.equal(JSON.parse(response.body).error, 'session_store_unavailable');
        assert.ok(Date.now() - started < 1500, 'fails fast instead of hanging');
        assert.deepEqual(response.headers.getSetCookie(), [], 'the cookie is kept');
      }
      assert.equal(stack.upstream.received.length, calls, 'nothing forwarded without a session check');
      assert.equal((await fetch(`${stack.admin}/readyz`)).status, 503);
      assert.equal((await fetch(`${stack.admin}/healthz`)).status, 200, 'the process is fine');

      await redis.start();
      let status = 0;
      for (let i = 0; i < 40 && status !== 200; i++) {
        await sleep(100);
        status = (await browser.api(`${stack.app}/api/orders`)).status;
      }
      assert.equal(status, 200, 'the same session works again');
      assert.equal((await fetch(`${stack.admin}/readyz`)).status, 200);
    } finally {
      await stack.close();
      await redis.close();
    }
  });

  it('answers 503 within the command timeout when Redis hangs', async () => {
    const redis = await startPrivateRedis();
    const stack = await startStack({
      gatehouse: inRedis(redis.url, testPrefix(), (c) => ({
        ...c,
        session: { ...c.session!, redis: { ...c.session!.redis!, commandTimeout: '300ms' } },
      })),
    });
    try {
      const browser = new TestBrowser();
      await signIn(browser, stack);
      redis.freeze();
      const started = Date.now();
      const response = await browser.api(`${stack.app}/api/orders`);
      assert.equal(response.status, 503);
      assert.ok(Date.now() - started < 1500, `took ${Date.now() - started} ms`);
      redis.thaw();
      let status = 0;
      for (let i = 0; i < 40 && status !== 200; i++) {
        await sleep(100);
        status = (await browser.api(`${stack.app}/api/orders`)).status;
      }
      assert.equal(status, 200);
    } finally {
      redis.thaw();
      await stack.close();
      await redis.close();
    }
  });
});

describe('redis store: back-channel logout and session admin', { skip }, () => {
  it('finds sessions by sid and sub through the Redis indexes', async () => {
    const stack = await startStack({
      gatehouse: inRedis(REDIS_URL, testPrefix(), (c) => ({ ...c, admin: { ...c.admin, token: 'x'.repeat(32) } })),
    });
    try {
      const browsers = [new TestBrowser(), new TestBrowser()];
      for (const browser of browsers) await signIn(browser, stack);
      const listed = await fetch(`${stack.admin}/sessions?sub=alice`, {
        headers: { authorization: `Bearer ${'x'.repeat(32)}` },
      });
      assert.equal(((await listed.json()) as { sessions: unknown[] }).sessions.length, 2);
      const user = JSON.parse((await browsers[0]!.api(`${stack.app}/api/auth/user`)).body);
      await stack.idp.backchannelLogout('gatehouse-test', 'alice', user.sid);
      assert.equal((await browsers[0]!.api(`${stack.app}/api/auth/user`)).status, 401);
      assert.equal(
        (await browsers[1]!.api(`${stack.app}/api/auth/user`)).status,
        200,
        'another provider session lives on',
      );
      assert.deepEqual(leakedTokens(browsers[0]!, stack), []);
    } finally {
      await stack.close();
    }
  });
});

/** The store settings as the configuration would produce them (defaults filled in). */
function redisConfig() {
  return parseConfig({
    publicUrl: 'https://app.example.com',
    oidc: { issuer: 'https://login.example.com', clientId: 'bff', clientSecret: 'x'.repeat(16) },
    session: { store: 'redis', secrets: ['s'.repeat(32)], redis: { url: REDIS_URL } },
  }).session.redis!;
}

describe('redis store: sessions written by earlier versions', { skip }, () => {
  it('opens a session sealed as plain JSON (before compression), and writes it back compressed', async () => {
    const secrets = [randomBytes(32).toString('base64url')];
    const redis = { ...redisConfig(), keyPrefix: testPrefix() };
    const store = new RedisStore({ redis, secrets });
    const client = new Redis(REDIS_URL);
    try {
      const key = randomBytes(32).toString('base64url');
      const data: SessionData = {
        v: 1,
        iss: 'https://login.example.com',
        sub: 'alice',
        tokens: { accessToken: 'a'.repeat(700), tokenType: 'Bearer', obtainedAt: 1, refreshToken: 'r'.repeat(43) },
        createdAt: 1,
        touchedAt: 2,
        expiresAt: Date.now() + 60_000,
        logoutKey: 'k'.repeat(22),
      };
      const legacy = new Aead(secrets, 'session-at-rest').seal(Buffer.from(JSON.stringify(data)), key);
      await client.hset(`${redis.keyPrefix}s:{${key}}`, 'd', legacy, 't', data.touchedAt);
      assert.deepEqual(await store.get(key), data);

      assert.equal(await store.update(key, data, 60_000), true);
      const rewritten = await client.hgetBuffer(`${redis.keyPrefix}s:{${key}}`, 'd');
      assert.ok(rewritten!.length < legacy.length / 2, `${legacy.length} B -> ${rewritten!.length} B`);
      assert.deepEqual(await store.get(key), data);

      // JWTs are stored as the JSON they encode, and come back byte for byte (signatures intact).
      const signingKey = new TextEncoder().encode('k'.repeat(32));
      const jwt = await new SignJWT({ name: 'Zoë 日本', nested: { a: [1, 2] } })
        .setProtectedHeader({ alg: 'HS256', typ: 'at+jwt' })
        .setSubject('alice')
        .sign(signingKey);
      const withJwts = { ...data, tokens: { ...data.tokens, accessToken: jwt, idToken: `${jwt}x`.slice(0, -1) } };
      await store.set(key, withJwts, 60_000);
      const back = (await store.get(key))!;
      assert.equal(back.tokens.accessToken, jwt);
      assert.equal(back.tokens.idToken, jwt);
      await jwtVerify(back.tokens.accessToken, signingKey);
      // Not every three-part string round-trips through UTF-8: those are kept as they are.
      const odd = `${Buffer.from([0xff, 0xfe]).toString('base64url')}.e30.sig`;
      await store.set(key, { ...data, tokens: { ...data.tokens, accessToken: odd } }, 60_000);
      assert.equal((await store.get(key))!.tokens.accessToken, odd);
    } finally {
      client.disconnect();
      await store.close();
    }
  });
});
