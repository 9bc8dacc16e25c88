/**
 * What an operator sees: log lines with request ids and never a secret in them, and Prometheus
 * counters that move with the traffic.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { TestBrowser } from './support/browser.js';
import { REDIS_URL, redisUnavailable, testPrefix } from './support/redis.js';
import { authorizationResponse, signIn, startStack, type Stack } from './support/stack.js';

const SESSION_COOKIE = '__Host-gatehouse';

describe('logs', () => {
  let stack: Stack;
  const lines: string[] = [];

  before(async () => {
    stack = await startStack({
      idp: { accessTokenTtlSeconds: 2, rotateRefreshTokens: true },
      // The most verbose level: whatever any log call could write, this run writes.
      gatehouse: (d) => ({ ...d, log: { level: 'trace' }, oidc: { ...d.oidc, refreshSkew: '0s' } }),
      logStream: { write: (line) => void lines.push(line) },
    });
  });
  after(() => stack.close());

  it('never contain a token, cookie, code, state or credential through login, API calls, refresh and logout', async () => {
    const browser = new TestBrowser();
    const secrets: string[] = [stack.clientSecret, ...(stack.config.session!.secrets as string[])];

    const callback = await authorizationResponse(browser, stack);
    secrets.push(callback.searchParams.get('code')!, callback.searchParams.get('state')!);
    const transaction = (await browser.jar.getCookies(stack.app)).find((c) =>
      c.key.startsWith(`${SESSION_COOKIE}-login`),
    );
    assert.ok(transaction, 'a login transaction cookie');
    secrets.push(transaction.value);
    await browser.request(callback.href, { navigate: true, from: stack.idp.issuer });
    const session = await browser.cookie(stack.app, SESSION_COOKIE);
    assert.ok(session, 'signed in');
    secrets.push(session);

    // A client trying its own credentials: refused or replaced, and not logged either.
    const forged = 'Bearer forged-client-credential-0123456789';
    secrets.push(forged.slice('Bearer '.length));
    assert.equal((await browser.api(`${stack.app}/api/orders/1`, { headers: { authorization: forged } })).status, 200);
    await sleep(2_200); // the access token expires: the next call refreshes
    assert.equal((await browser.api(`${stack.app}/api/orders/2`)).status, 200);
    assert.equal(stack.idp.grants.filter((g) => g.grantType === 'refresh_token').length, 1, 'one refresh happened');
    assert.equal((await browser.api(`${stack.app}/api/auth/user`)).status, 200);
    const stale = new TestBrowser();
    await stale.jar.setCookie(`${SESSION_COOKIE}=${session}x; Path=/; Secure`, stack.app);
    assert.equal((await stale.api(`${stack.app}/api/orders/3`)).status, 401);
    assert.equal((await browser.api(`${stack.app}/api/auth/logout`, { method: 'POST' })).status, 200);

    const tokens = stack.idp.issuedTokens().flatMap((t) => (t.split('.').length === 3 ? [t, t.split('.')[2]!] : [t]));
    assert.ok(tokens.length >= 5, 'access, refresh and ID tokens, before and after the refresh');
    const log = lines.join('');
    assert.ok(lines.length >= 10, `${lines.length} log lines`);
    for (const value of [...tokens, ...secrets]) {
      assert.ok(value.length >= 8, 'a meaningful search');
      assert.ok(!log.includes(value), `a log line contains a secret value (${value.slice(0, 6)}…)`);
    }
    assert.doesNotMatch(log, /eyJ[A-Za-z0-9_-]{10,}/, 'no JWT of any kind');
  });

  it('carry a request id on every request line, and the path without its query', () => {
    const completed = lines.map((l) => JSON.parse(l)).filter((l) => l.msg === 'request completed');
    assert.equal(completed.length, 7, 'login, callback, four API calls, logout');
    for (const line of completed) {
      assert.match(line.reqId, /^[0-9a-f-]{36}$/);
      assert.ok(!String(line.req.path).includes('?'), line.req.path);
    }
    const callback = completed.find((l) => l.req.path === '/api/auth/callback');
    assert.ok(callback, 'the callback was logged, without code and state');
  });
});

/** The value of one sample in Prometheus text format, or undefined when absent. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    const wanted = Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`));
    if (wanted) return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return undefined;
}

const redisSkip = await redisUnavailable();

for (const store of ['memory', 'redis'] as const) {
  describe(`metrics (${store} store)`, { skip: store === 'redis' && redisSkip }, () => {
    let stack: Stack;
    const scrape = async () => {
      const response = await fetch(`${stack.admin}/metrics`);
      assert.equal(response.status, 200);
      assert.match(response.headers.get('content-type')!, /^text\/plain; version=0\.0\.4/);
      return response.text();
    };

    before(async () => {
      stack = await startStack({
        idp: { accessTokenTtlSeconds: 2 },
        gatehouse: (d) => ({
          ...d,
          oidc: { ...d.oidc, refreshSkew: '0s' },
          session: {
            ...d.session,
            ...(store === 'redis' ? { store: 'redis', redis: { url: REDIS_URL, keyPrefix: testPrefix() } } : {}),
          },
        }),
      });
    });
    after(() => stack.close());

    it('counts requests, errors, sign-ins, refreshes, store operations and live sessions', async () => {
      const before = await scrape();
      assert.equal(sample(before, 'gatehouse_logins_total'), 0);
      assert.equal(sample(before, 'gatehouse_sessions_active'), 0);
      assert.ok(sample(before, 'gatehouse_process_resident_memory_bytes')! > 0, 'process metrics');

      const browser = new TestBrowser();
      await signIn(browser, stack);
      for (let i = 0; i < 3; i++) assert.equal((await browser.api(`${stack.app}/api/orders/${i}`)).status, 200);
      assert.equal((await browser.api(`${stack.app}/api/orders/x`, { csrf: false })).status, 403);
      await sleep(2_200);
      assert.equal((await browser.api(`${stack.app}/api/orders/after-expiry`)).status, 200);

      const during = await scrape();
      const orders = { route: '/api/orders/*', method: 'GET' };
      assert.equal(sample(during, 'gatehouse_http_requests_total', { ...orders, status: '200' }), 4);
      assert.equal(sample(during, 'gatehouse_http_request_duration_seconds_count', { ...orders, status: '200' }), 4);
      assert.equal(
        sample(during, 'gatehouse_errors_total', { code: 'csrf_header_missing', route: '/api/orders/*' }),
        1,
      );
      assert.equal(sample(during, 'gatehouse_logins_total'), 1);
      assert.equal(sample(during, 'gatehouse_token_refreshes_total', { outcome: 'success' }), 1);
      assert.equal(sample(during, 'gatehouse_sessions_active'), 1);
      // Calls answered from memory (memory store, Redis session cache) are not store calls; the refresh reads the store.
      assert.ok(sample(during, 'gatehouse_session_store_duration_seconds_count', { operation: 'get' })! >= 1);
      assert.ok(sample(during, 'gatehouse_session_store_duration_seconds_count', { operation: 'set' })! >= 1);

      await browser.api(`${stack.app}/api/auth/logout`, { method: 'POST' });
      assert.equal(sample(await scrape(), 'gatehouse_sessions_active'), 0);
    });
  });
}

describe('a browser that leaves mid-request', () => {
  let stack: Stack;
  const lines: string[] = [];
  before(async () => {
    stack = await startStack({
      gatehouse: (d) => ({ ...d, log: { level: 'info' } }),
      logStream: { write: (line) => void lines.push(line) },
    });
  });
  after(() => stack.close());

  it('aborts the upstream call and logs no error: nothing failed', async () => {
    let upstreamSawClose = false;
    stack.upstream.handle(async (req, res) => {
      req.socket.once('close', () => (upstreamSawClose = true));
      await sleep(1_000);
      if (!res.destroyed) res.end('late');
    });
    const browser = new TestBrowser();
    await signIn(browser, stack);
    const cookie = await browser.jar.getCookieString(stack.app);
    const leaving = new AbortController();
    const call = fetch(`${stack.app}/api/orders/slow`, {
      headers: { cookie, 'x-csrf': '1' },
      signal: leaving.signal,
    }).catch((error: Error) => error.name);
    await sleep(200);
    leaving.abort();
    assert.equal(await call, 'AbortError');
    await sleep(300);
    assert.ok(upstreamSawClose, `the upstream call was aborted too: ${lines.join('')}`);
    const logged = lines.map((l) => JSON.parse(l) as { level: number; msg: string });
    assert.ok(
      logged.some((l) => l.msg === 'client closed the connection before the answer'),
      lines.join(''),
    );
    assert.deepEqual(
      logged.filter((l) => l.level >= 50),
      [],
      'no error logged',
    );
    const metrics = await (await fetch(`${stack.admin}/metrics`)).text();
    assert.equal(sample(metrics, 'gatehouse_errors_total', { code: 'upstream_unavailable' }), undefined);
  });
});
