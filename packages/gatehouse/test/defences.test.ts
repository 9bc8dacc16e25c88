/**
 * Browser-facing defences with their configuration: security headers, the CORS allow-list, CDN
 * origin verification with two secrets, and rate limits with Retry-After (in memory and in Redis).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { GatehouseConfigInput } from '../src/config/schema.js';
import { TestBrowser } from './support/browser.js';
import { REDIS_URL, redisUnavailable, testPrefix } from './support/redis.js';
import { spaBuild } from './support/spa-build.js';
import { signIn, startStack, type Stack } from './support/stack.js';

describe('security headers', () => {
  let stack: Stack;
  before(async () => {
    stack = await startStack({
      gatehouse: (d) => ({
        ...d,
        static: { root: spaBuild() },
      }),
    });
  });
  after(() => stack.close());

  it('sends a strict CSP, nosniff, no-referrer, COOP and frame protection on pages', async () => {
    const page = await new TestBrowser().navigate(`${stack.app}/orders/1`);
    const csp = page.headers.get('content-security-policy')!;
    for (const directive of ["object-src 'none'", "base-uri 'none'", "frame-ancestors 'none'", "script-src 'self'"]) {
      assert.ok(csp.includes(directive), directive);
    }
    assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/);
    assert.equal(page.headers.get('x-content-type-options'), 'nosniff');
    assert.equal(page.headers.get('referrer-policy'), 'no-referrer');
    assert.equal(page.headers.get('cross-origin-opener-policy'), 'same-origin');
    assert.equal(page.headers.get('x-frame-options'), 'DENY');
    assert.equal(page.headers.get('strict-transport-security'), null, 'not over plain http');
  });

  it("gives API responses (errors included) default-src 'none' and no-store", async () => {
    const response = await new TestBrowser().api(`${stack.app}/api/orders`);
    assert.equal(response.status, 401);
    assert.equal(response.headers.get('content-security-policy'), "default-src 'none'; frame-ancestors 'none'");
    assert.equal(response.headers.get('cache-control'), 'no-store');
    assert.equal(response.headers.get('x-content-type-options'), 'nosniff');
  });

  it('ignores ?callback= (no JSONP)', async () => {
    const browser = new TestBrowser();
    await signIn(browser, stack);
    const user = await browser.api(`${stack.app}/api/auth/user?callback=steal`);
    assert.match(user.headers.get('content-type')!, /^application\/json/);
    assert.ok(user.body.startsWith('{'));
  });
});

describe('HSTS', () => {
  it('is sent (one year, subdomains) when the public URL is https', async () => {
    const stack = await startStack({ gatehouse: (d) => ({ ...d, publicUrl: 'https://app.example.com' }) });
    try {
      const response = await fetch(`${stack.app}/api/auth/user`, { headers: { 'x-csrf': '1' } });
      assert.equal(response.headers.get('strict-transport-security'), 'max-age=31536000; includeSubDomains');
    } finally {
      await stack.close();
    }
  });

  it('is not sent for https://localhost, where WebKit would then force https on every local port', async () => {
    for (const publicUrl of ['https://localhost:8443', 'https://shop.localhost', 'https://127.0.0.1:8443']) {
      const stack = await startStack({ gatehouse: (d) => ({ ...d, publicUrl }) });
      try {
        const response = await fetch(`${stack.app}/api/auth/user`, { headers: { 'x-csrf': '1' } });
        assert.equal(response.headers.get('strict-transport-security'), null, publicUrl);
      } finally {
        await stack.close();
      }
    }
  });
});

describe('CORS allow-list', () => {
  // A same-site origin (think www.example.com calling app.example.com): only same-site pages can
  // use the session at all, since the cookie is SameSite=Strict.
  const partner = 'http://127.0.0.1:1';
  let stack: Stack;
  before(async () => {
    stack = await startStack({ gatehouse: (d) => ({ ...d, security: { allowedOrigins: [partner] } }) });
  });
  after(() => stack.close());

  it('answers preflights from a listed origin with that origin and credentials, never *', async () => {
    const response = await fetch(`${stack.app}/api/orders`, {
      method: 'OPTIONS',
      headers: {
        origin: partner,
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'x-csrf, content-type',
      },
    });
    assert.equal(response.status, 204);
    assert.equal(response.headers.get('access-control-allow-origin'), partner);
    assert.equal(response.headers.get('access-control-allow-credentials'), 'true');
    assert.match(response.headers.get('access-control-allow-headers')!, /x-csrf/);
    assert.match(response.headers.get('access-control-allow-headers')!, /x-client-type/);
    assert.equal(response.headers.get('vary'), 'Origin');
  });

  it('lets a listed origin call the API with the session, and refuses everyone else', async () => {
    const browser = new TestBrowser();
    await signIn(browser, stack);
    const allowed = await browser.api(`${stack.app}/api/orders`, { from: partner });
    assert.equal(allowed.status, 200);
    assert.equal(allowed.headers.get('access-control-allow-origin'), partner);
    for (const origin of [
      'https://evil.test',
      'http://127.0.0.1:2',
      'http://127.0.0.1:1.evil.test',
      'https://127.0.0.1:1',
      'null',
    ]) {
      const preflight = await fetch(`${stack.app}/api/orders`, {
        method: 'OPTIONS',
        headers: { origin, 'access-control-request-method': 'GET', 'access-control-request-headers': 'x-csrf' },
      });
      assert.equal(preflight.status, 403, origin);
      assert.equal(preflight.headers.get('access-control-allow-origin'), null, origin);
    }
  });
});

describe('CDN origin verification', () => {
  let stack: Stack;
  before(async () => {
    stack = await startStack({
      gatehouse: (d) => ({
        ...d,
        security: { originVerify: { secrets: ['current-secret-value-123', 'next-secret-value-45678'] } },
      }),
    });
  });
  after(() => stack.close());

  it('refuses requests that did not come through the CDN, accepts both secrets, and leaves health checks alone', async () => {
    const without = await fetch(`${stack.app}/api/auth/user`, { headers: { 'x-csrf': '1' } });
    assert.equal(without.status, 403);
    assert.equal(((await without.json()) as { error: string }).error, 'origin_verification_failed');
    for (const wrong of ['', 'current-secret-value-12', 'current-secret-value-1234', 'CURRENT-SECRET-VALUE-123']) {
      const response = await fetch(`${stack.app}/`, { headers: { 'x-origin-verify': wrong } });
      assert.equal(response.status, 403, wrong);
    }
    for (const secret of ['current-secret-value-123', 'next-secret-value-45678']) {
      const response = await fetch(`${stack.app}/api/auth/user`, {
        headers: { 'x-csrf': '1', 'x-origin-verify': secret },
      });
      assert.equal(response.status, 401, 'through the CDN: on to the session check');
    }
    assert.equal((await fetch(`${stack.admin}/healthz`)).status, 200);
    const login = await new TestBrowser().request(`${stack.app}/api/auth/login`, { navigate: true });
    assert.equal(login.status, 403, 'sign-in too');
  });
});

function lowLimits(extra: Partial<GatehouseConfigInput> = {}) {
  return (d: GatehouseConfigInput): GatehouseConfigInput => ({
    ...d,
    ...extra,
    rateLimit: {
      ...extra.rateLimit,
      // Hour-long windows: the counters' windows are aligned to the clock, and a test that ran
      // across a minute boundary would see its count start again.
      perSession: { requests: 5, window: '1h' },
      perIp: { requests: 40, window: '1h' },
      signIn: { requests: 4, window: '1h' },
    },
  });
}

const redisSkip = await redisUnavailable();

describe('rate limits', () => {
  it('limits API calls per session with 429 and Retry-After, without touching other sessions', async () => {
    const stack = await startStack({ gatehouse: lowLimits() });
    try {
      const [a, b] = [new TestBrowser(), new TestBrowser()];
      await signIn(a, stack);
      await signIn(b, stack);
      const statuses = [];
      for (let i = 0; i < 7; i++) statuses.push((await a.api(`${stack.app}/api/orders`)).status);
      assert.deepEqual(statuses, [200, 200, 200, 200, 200, 429, 429]);
      const limited = await a.api(`${stack.app}/api/orders`);
      assert.equal(JSON.parse(limited.body).error, 'rate_limited');
      const retryAfter = Number(limited.headers.get('retry-after'));
      assert.ok(retryAfter >= 1 && retryAfter <= 3600);
      assert.equal((await b.api(`${stack.app}/api/orders`)).status, 200, 'another session is unaffected');
    } finally {
      await stack.close();
    }
  });

  it('limits sign-in attempts and all requests per client IP', async () => {
    const stack = await startStack({ gatehouse: lowLimits() });
    try {
      const statuses = [];
      for (let i = 0; i < 5; i++)
        statuses.push((await new TestBrowser().request(`${stack.app}/api/auth/login`, { navigate: true })).status);
      assert.deepEqual(statuses, [302, 302, 302, 302, 429]);
      let last = 0;
      for (let i = 0; i < 40; i++)
        last = (await fetch(`${stack.app}/api/auth/user`, { headers: { 'x-csrf': '1' } })).status;
      assert.equal(last, 429);
      assert.equal((await fetch(`${stack.admin}/healthz`)).status, 200, 'the admin listener is not limited');
    } finally {
      await stack.close();
    }
  });

  it('counts the real client, not a forged X-Forwarded-For, unless the proxy is trusted', async () => {
    const untrusting = await startStack({ gatehouse: lowLimits() });
    try {
      let last = 0;
      for (let i = 0; i < 41; i++) {
        last = (await fetch(`${untrusting.app}/`, { headers: { 'x-forwarded-for': `10.0.0.${i}` } })).status;
      }
      assert.equal(last, 429, 'rotating X-Forwarded-For does not escape the limit');
    } finally {
      await untrusting.close();
    }
    const behindProxy = await startStack({
      gatehouse: (d) => ({ ...lowLimits()(d), server: { ...d.server, trustProxy: ['127.0.0.1/32'] } }),
    });
    try {
      const statuses = new Set<number>();
      for (let i = 0; i < 41; i++) {
        statuses.add((await fetch(`${behindProxy.app}/`, { headers: { 'x-forwarded-for': `10.0.0.${i}` } })).status);
      }
      assert.ok(!statuses.has(429), 'behind a trusted proxy, each forwarded client has its own budget');
    } finally {
      await behindProxy.close();
    }
  });

  it('holds a per-route limit across instances with Redis counters', { skip: redisSkip }, async () => {
    const stack = await startStack({
      gatehouse: (d) => ({
        ...lowLimits()(d),
        session: { ...d.session!, store: 'redis', redis: { url: REDIS_URL, keyPrefix: testPrefix() } },
        rateLimit: { ...lowLimits()(d).rateLimit, store: 'redis' },
        routes: [{ ...d.routes![0]!, rateLimit: { perSession: { requests: 4, window: '1h' } } }],
      }),
    });
    try {
      const peer = await stack.peer();
      const browser = new TestBrowser();
      await signIn(browser, stack);
      const statuses = [];
      for (let i = 0; i < 6; i++) {
        statuses.push(
          (await browser.api(`${i % 2 ? peer.url : stack.app}/api/orders`, { balancedAs: stack.app })).status,
        );
      }
      assert.deepEqual(statuses, [200, 200, 200, 200, 429, 429], 'four calls in all, whichever instance served them');
    } finally {
      await stack.close();
    }
  });
});
