/**
 * The same behaviour on every runtime: each case runs against the Node server (sessions in Redis),
 * the Cloudflare Worker in real workerd (Durable Objects) and the Lambda handler behind a streaming
 * function URL (Redis), with the same provider, upstream and configuration document. A difference
 * between runtimes is a failing test.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { TestBrowser } from './support/browser.js';
import { rawRequest } from './support/raw-http.js';
import { RUNTIMES, startRuntimeStack, type RuntimeStack } from './support/runtimes.js';
import { redisUnavailable } from './support/redis.js';
import { listen } from './support/server-events.js';
import { echo } from './support/upstream.js';
import { CLIENT_ID, authorizationResponse, leakedTokens, signIn } from './support/stack.js';

const TOKEN_TTL_S = 2;
// On Node and Lambda, instances share their sessions through Redis.
const skipRedis = await redisUnavailable();

for (const runtime of RUNTIMES) {
  describe(`on ${runtime}`, { skip: runtime !== 'workerd' && skipRedis }, () => {
    let stack: RuntimeStack;
    before(async () => {
      stack = await startRuntimeStack(runtime, {
        idp: { accessTokenTtlSeconds: TOKEN_TTL_S },
        gatehouse: (d) => ({
          ...d,
          oidc: { ...d.oidc!, refreshSkew: '0s' },
          routes: d.routes!.map((route) => ({ ...route, timeout: '1s' })),
        }),
      });
    });
    after(() => stack?.close());

    async function signedIn(): Promise<TestBrowser> {
      const browser = new TestBrowser();
      const callback = await signIn(browser, stack);
      assert.equal(callback.status, 302, callback.body);
      return browser;
    }
    const grants = (type: string) => stack.idp.grants.filter((g) => g.grantType === type).length;
    const user = async (browser: TestBrowser) => browser.api(`${stack.app}/api/auth/user`);

    it('signs in; the API call reaches the upstream with the token and without the cookie; no token reaches the browser', async () => {
      const browser = await signedIn();
      const received = stack.upstream.received.length;
      const response = await browser.api(`${stack.app}/api/orders/42?x=1`);
      assert.equal(response.status, 200, response.body);
      const request = stack.upstream.received[received]!;
      assert.equal(request.url, '/orders/42?x=1');
      assert.match(request.headers.authorization ?? '', /^Bearer ey/);
      assert.equal(request.headers.cookie, undefined);
      assert.equal(request.headers['x-csrf'], undefined);
      assert.equal(response.headers.get('x-content-type-options'), 'nosniff');
      assert.equal(response.headers.get('cache-control'), 'no-store');

      const me = await user(browser);
      assert.equal(me.status, 200);
      assert.equal(JSON.parse(me.body).sub, 'alice');
      assert.deepEqual(leakedTokens(browser, stack), []);
      const cookie = (await browser.jar.getCookies(stack.app)).find((c) => c.key === '__Host-gatehouse')!;
      assert.ok(cookie.httpOnly && cookie.secure && cookie.sameSite === 'strict' && cookie.path === '/');
    });

    it('after expiry, 50 concurrent calls spread over two instances cost exactly one refresh grant', async () => {
      const browser = await signedIn();
      const cookie = await browser.jar.getCookieString(stack.app);
      const peer = await stack.peer();
      await sleep(TOKEN_TTL_S * 1000 + 200);
      const before = grants('refresh_token');
      const responses = await Promise.all(
        Array.from({ length: 50 }, (_, i) =>
          i % 2 === 0
            ? browser.api(`${stack.app}/api/orders/1`)
            : rawRequest(peer, '/api/orders/1', {
                headers: { cookie, 'x-csrf': '1', 'sec-fetch-site': 'same-origin' },
              }),
        ),
      );
      assert.deepEqual(
        responses.map((r) => r.status),
        Array(50).fill(200),
      );
      assert.equal(grants('refresh_token') - before, 1);
    });

    it('logs out: the session ends, the cookie is cleared, a replayed cookie is refused, on the other instance too', async () => {
      const browser = await signedIn();
      const cookie = await browser.jar.getCookieString(stack.app);
      const peer = await stack.peer();
      const onPeer = () =>
        rawRequest(peer, '/api/orders/1', { headers: { cookie, 'x-csrf': '1', 'sec-fetch-site': 'same-origin' } });
      assert.equal((await onPeer()).status, 200, 'the other instance has served (and may remember) the session');
      const logout = await browser.api(`${stack.app}/api/auth/logout`, { method: 'POST' });
      assert.equal(logout.status, 200);
      assert.match(JSON.parse(logout.body).logoutUrl, /^http:\/\/localhost:\d+\/session\/end\?/);
      assert.match(logout.headers.getSetCookie().join('\n'), /__Host-gatehouse=;/);
      const replayed = await new TestBrowser().api(`${stack.app}/api/orders/1`, { headers: { cookie } });
      assert.equal(replayed.status, 401);
      assert.equal(JSON.parse(replayed.body).error, 'session_expired');
      assert.equal((await onPeer()).status, 401, 'refused at once by the instance that served it before');
    });

    it('streams session events, says "ended" within a second of a logout on the other instance, and ends the stream', async () => {
      const browser = await signedIn();
      const cookie = await browser.jar.getCookieString(stack.app);
      const stream = await listen(`${stack.app}/api/auth/events`, cookie);
      try {
        await stream.next('session', 2_000);
        const peer = await stack.peer();
        const logout = await rawRequest(peer, '/api/auth/logout', {
          method: 'POST',
          headers: { cookie, 'x-csrf': '1', 'sec-fetch-site': 'same-origin' },
        });
        assert.equal(logout.status, 200);
        const loggedOutAt = Date.now();
        const ended = await stream.next('ended', 3_000);
        assert.ok(ended.at - loggedOutAt < 1_000, `ended after ${ended.at - loggedOutAt} ms`);
        await stream.next('(end of stream)', 2_000);
      } finally {
        stream.close();
      }
    });

    it('ends the session when the provider sends a back-channel logout', async () => {
      const browser = await signedIn();
      const { sub, sid } = JSON.parse((await user(browser)).body) as { sub: string; sid: string };
      await stack.idp.backchannelLogout(CLIENT_ID, sub, sid); // throws unless Gatehouse answered 200
      assert.equal((await user(browser)).status, 401);
    });

    it('refuses a missing anti-forgery header, a cross-site origin and a form body, and the upstream sees none', async () => {
      const browser = await signedIn();
      const cookie = await browser.jar.getCookieString(stack.app);
      const received = stack.upstream.received.length;
      const cases = [
        [await browser.api(`${stack.app}/api/orders/1`, { csrf: false }), 403, 'csrf_header_missing'],
        [
          await browser.api(`${stack.app}/api/orders/1`, { from: 'https://evil.test', headers: { cookie } }),
          403,
          'origin_not_allowed',
        ],
        [
          await browser.api(`${stack.app}/api/orders/1`, {
            method: 'POST',
            headers: { 'content-type': 'application/x-www-form-urlencoded' },
            body: 'a=1',
          }),
          415,
          'unsupported_media_type',
        ],
        [await new TestBrowser().api(`${stack.app}/api/orders/1`), 401, 'unauthenticated'],
      ] as const;
      for (const [response, status, code] of cases) {
        assert.equal(response.status, status, `${code}: ${response.body}`);
        assert.equal(JSON.parse(response.body).error, code);
      }
      assert.equal(stack.upstream.received.length, received);
    });

    it('answers 504 upstream_timeout when the upstream does not answer in time, and goes on serving', async () => {
      const browser = await signedIn();
      stack.upstream.handle(async (req, res, body) => {
        if (req.url!.includes('slow')) await sleep(3_000);
        echo(req, res, body);
      });
      try {
        const started = Date.now();
        const slow = await browser.api(`${stack.app}/api/orders/slow`);
        assert.equal(slow.status, 504, slow.body);
        assert.equal(JSON.parse(slow.body).error, 'upstream_timeout');
        assert.ok(Date.now() - started < 2_500, `answered after ${Date.now() - started} ms`);
        assert.equal((await browser.api(`${stack.app}/api/orders/1`)).status, 200);
      } finally {
        stack.upstream.handle(echo);
      }
    });

    it("serves extension endpoints: a path parameter, two upstream calls gathered with the user's token, views, JSON bodies", async () => {
      const browser = await signedIn();
      const received = stack.upstream.received.length;
      const summary = await browser.api(`${stack.app}/api/summary/a%20b?page=2`);
      assert.equal(summary.status, 200, summary.body);
      assert.equal(summary.headers.get('cache-control'), 'no-store');
      const body = JSON.parse(summary.body);
      assert.equal(body.id, 'a b');
      assert.equal(body.user, 'alice');
      assert.deepEqual(body.order, { method: 'GET', url: '/orders/a%20b', body: '' });
      assert.deepEqual(body.list, { method: 'GET', url: '/orders?page=2', body: '' });
      const calls = stack.upstream.received.slice(received);
      assert.equal(calls.length, 2);
      for (const call of calls) {
        assert.match(call.headers.authorization ?? '', /^Bearer ey/);
        assert.equal(call.headers.cookie, undefined);
      }

      const brief = await browser.api(`${stack.app}/api/summary/7?view=brief`);
      assert.deepEqual(JSON.parse(brief.body), { order: '/orders/7', by: 'alice' });
      const unknownView = await browser.api(`${stack.app}/api/summary/7?view=huge`);
      assert.equal(unknownView.status, 400);
      assert.equal(JSON.parse(unknownView.body).error, 'invalid_request');

      const note = await browser.api(`${stack.app}/api/notes`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ text: 'hi' }),
      });
      assert.equal(note.status, 201, note.body);
      assert.deepEqual(JSON.parse(note.body), { saved: { text: 'hi' } });

      const refusals = [
        [await browser.api(`${stack.app}/api/summary/7`, { csrf: false }), 403, 'csrf_header_missing'],
        [await new TestBrowser().api(`${stack.app}/api/summary/7`), 401, 'unauthenticated'],
        [await browser.api(`${stack.app}/api/summary/7`, { method: 'DELETE' }), 405, 'method_not_allowed'],
        [
          await browser.api(`${stack.app}/api/notes`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: '{',
          }),
          400,
          'invalid_request',
        ],
      ] as const;
      for (const [response, status, code] of refusals) {
        assert.equal(response.status, status, `${code}: ${response.body}`);
        assert.equal(JSON.parse(response.body).error, code);
      }
      assert.equal(refusals[2][0].headers.get('allow'), 'GET');
    });

    it('refuses hostile paths, tampered cookies and replayed callbacks with JSON errors, and loses nothing', async () => {
      const browser = await signedIn();
      const cookie = await browser.jar.getCookieString(stack.app);
      const received = stack.upstream.received.length;
      // On Node and Lambda (rawPath) these are refused as sent (400). A Worker gets the target already parsed by WHATWG URL
      // rules, dot segments resolved: "/api/x", which no route serves (404). Either way nothing leaves.
      const hostile = [
        '/api/orders/a%2Fb',
        '/api/orders/%2e%2e/x',
        '/api/orders/../x',
        '/api/orders/a%5cb',
        '/api/orders//x',
      ];
      for (const path of hostile) {
        const response = await rawRequest(stack.app, path, {
          headers: { cookie, 'x-csrf': '1', 'sec-fetch-site': 'same-origin' },
        });
        assert.ok([400, 404].includes(response.status), `${path}: ${response.status}`);
        assert.match(JSON.parse(response.body).error, /^(invalid_path|not_found)$/);
      }
      assert.equal(stack.upstream.received.length, received, 'no hostile path reached the upstream');
      // A raw backslash: refused on Node; on Workers the URL parser has made it "/" before Gatehouse
      // sees it, and the upstream gets that path, inside the route.
      const backslash = await rawRequest(stack.app, '/api/orders/a\\b', {
        headers: { cookie, 'x-csrf': '1', 'sec-fetch-site': 'same-origin' },
      });
      if (runtime !== 'workerd') assert.equal(backslash.status, 400);
      else assert.equal(stack.upstream.received.at(-1)?.url, '/orders/a/b');

      const tampered = cookie.replace(/.$/, (c) => (c === 'A' ? 'B' : 'A'));
      const refused = await new TestBrowser().api(`${stack.app}/api/orders/1`, { headers: { cookie: tampered } });
      assert.equal(refused.status, 401);
      assert.equal((await user(browser)).status, 200, 'the real session is untouched');

      const other = new TestBrowser();
      const callback = await authorizationResponse(other, stack);
      assert.equal((await other.request(callback.href, { navigate: true, from: stack.idp.issuer })).status, 302);
      const replay = await other.request(callback.href, {
        navigate: true,
        from: stack.idp.issuer,
        headers: { accept: 'application/json' },
      });
      assert.equal(replay.status, 400);
      assert.equal(JSON.parse(replay.body).error, 'invalid_state');
      assert.equal((await user(other)).status, 200, 'the session the first callback made survives');
    });
  });
}
