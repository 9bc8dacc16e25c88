/**
 * Token refresh against a real provider with refresh-token rotation and reuse detection on (a
 * rotated refresh token presented twice revokes the whole grant, so any double refresh shows).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { TestBrowser } from './support/browser.js';
import { CLIENT_ID, introspect, signIn, startStack, type Stack } from './support/stack.js';
import { echo } from './support/upstream.js';

const ACCESS_TOKEN_TTL_S = 2;

/** A stack whose access tokens live 2 s and are refreshed only once expired. */
function shortLivedTokens(): Promise<Stack> {
  return startStack({
    idp: { accessTokenTtlSeconds: ACCESS_TOKEN_TTL_S, rotateRefreshTokens: true },
    gatehouse: (defaults) => ({ ...defaults, oidc: { ...defaults.oidc, refreshSkew: '0s' } }),
  });
}

const refreshGrants = (stack: Stack) => stack.idp.grants.filter((g) => g.grantType === 'refresh_token');
const bearer = (stack: Stack, i: number) =>
  stack.upstream.received.at(i)!.headers.authorization!.slice('Bearer '.length);

describe('refresh exactly once', () => {
  let stack: Stack;
  before(async () => {
    stack = await shortLivedTokens();
  });
  after(() => stack.close());

  it('serves 50 concurrent calls after expiry with one refresh grant, three rounds in a row', async () => {
    const browser = new TestBrowser();
    await signIn(browser, stack);
    for (let round = 1; round <= 3; round++) {
      await sleep(ACCESS_TOKEN_TTL_S * 1000 + 200);
      const before = refreshGrants(stack).length;
      const received = stack.upstream.received.length;
      const responses = await Promise.all(
        Array.from({ length: 50 }, (_, i) => browser.api(`${stack.app}/api/orders/${i}`)),
      );
      assert.deepEqual(
        responses.map((r) => r.status),
        Array(50).fill(200),
        `round ${round}: every call succeeded`,
      );
      const grants = refreshGrants(stack).slice(before);
      assert.equal(grants.length, 1, `round ${round}: exactly one refresh grant`);
      assert.ok(grants[0]!.ok, `round ${round}: the provider accepted it (no reuse of a rotated refresh token)`);
      const fresh = grants[0]!.tokens[0]!;
      for (let i = received; i < received + 50; i++)
        assert.equal(bearer(stack, i), fresh, 'every call carried the new token');
    }
    assert.equal(stack.idp.grants.filter((g) => !g.ok).length, 0, 'the provider refused nothing');
  });
});

describe('upstream 401', () => {
  // Tokens live 5 minutes here: a 401 is the upstream's verdict, not the clock's.
  let stack: Stack;
  before(async () => {
    stack = await startStack();
  });
  after(() => stack.close());

  it('refreshes an upstream-refused token once and retries a body-less request once', async () => {
    const browser = new TestBrowser();
    await signIn(browser, stack);
    await sleep(2100); // a token this old may be renewed after a 401
    const refused = new Set<string>();
    stack.upstream.handle((req, res, body) => {
      const token = req.headers.authorization!;
      if (refused.size === 0) refused.add(token);
      if (refused.has(token)) {
        res.writeHead(401, { 'www-authenticate': 'Bearer error="invalid_token"' });
        return void res.end();
      }
      echo(req, res, body);
    });
    try {
      const before = refreshGrants(stack).length;
      const response = await browser.api(`${stack.app}/api/orders/7`);
      assert.equal(response.status, 200, 'retried with the refreshed token');
      assert.equal(refreshGrants(stack).length, before + 1);
      assert.notEqual(bearer(stack, -1), bearer(stack, -2));
    } finally {
      stack.upstream.handle(echo);
    }
  });

  it('gives up after one refresh: a second 401 becomes a plain JSON 401 without token data', async () => {
    const browser = new TestBrowser();
    await signIn(browser, stack);
    await sleep(2100);
    stack.upstream.handle((_req, res) => {
      res.writeHead(401, { 'www-authenticate': 'Bearer error="invalid_token", error_description="token xyz revoked"' });
      res.end('{"detail":"internal"}');
    });
    try {
      const before = refreshGrants(stack).length;
      const calls = stack.upstream.received.length;
      const response = await browser.api(`${stack.app}/api/orders/7`);
      assert.equal(response.status, 401);
      assert.equal(JSON.parse(response.body).error, 'upstream_unauthorized');
      assert.equal(response.headers.get('www-authenticate'), null);
      assert.equal(refreshGrants(stack).length, before + 1, 'one refresh');
      assert.equal(stack.upstream.received.length, calls + 2, 'one retry');
      assert.equal((await browser.api(`${stack.app}/api/auth/user`)).status, 200, 'the session lives on');
    } finally {
      stack.upstream.handle(echo);
    }
  });

  it('does not replay a request with a body: one refresh, then 401 for the SPA to retry', async () => {
    const browser = new TestBrowser();
    await signIn(browser, stack);
    await sleep(2100);
    let first = true;
    stack.upstream.handle((req, res, body) => {
      if (first) {
        first = false;
        res.writeHead(401);
        return void res.end();
      }
      echo(req, res, body);
    });
    try {
      const calls = stack.upstream.received.length;
      const before = refreshGrants(stack).length;
      const response = await browser.api(`${stack.app}/api/orders`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{"item":"lamp"}',
      });
      assert.equal(response.status, 401);
      assert.equal(JSON.parse(response.body).error, 'upstream_unauthorized');
      assert.equal(stack.upstream.received.length, calls + 1, 'not replayed');
      assert.equal(refreshGrants(stack).length, before + 1, 'but the token was refreshed for the next try');
      const again = await browser.api(`${stack.app}/api/orders`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{"item":"lamp"}',
      });
      assert.equal(again.status, 200);
    } finally {
      stack.upstream.handle(echo);
    }
  });
});

describe('an upstream whose clock runs ahead', () => {
  let stack: Stack;
  before(async () => {
    stack = await shortLivedTokens();
  });
  after(() => stack.close());

  it('renews a token the upstream already sees as expired, however young, and retries once', async () => {
    // The upstream's clock is 700 ms ahead of Gatehouse's: it refuses a token that Gatehouse still
    // considers valid for a moment (refreshSkew 0s here, so Gatehouse does not refresh early).
    stack.upstream.handle((req, res, body) => {
      const token = req.headers.authorization!.slice('Bearer '.length);
      const { exp } = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as { exp: number };
      if (exp * 1000 <= Date.now() + 700) {
        res.writeHead(401, { 'www-authenticate': 'Bearer error="invalid_token"' });
        res.end();
        return;
      }
      echo(req, res, body);
    });
    try {
      const browser = new TestBrowser();
      await signIn(browser, stack);
      await sleep(ACCESS_TOKEN_TTL_S * 1000 - 500);
      const before = refreshGrants(stack).length;
      const response = await browser.api(`${stack.app}/api/orders/1`);
      assert.equal(response.status, 200, response.body);
      assert.equal(refreshGrants(stack).length, before + 1, 'one refresh');
    } finally {
      stack.upstream.handle(echo);
    }
  });
});

describe('refresh failures', () => {
  let stack: Stack;
  before(async () => {
    stack = await shortLivedTokens();
  });
  after(() => stack.close());

  it('ends the session cleanly when the provider answers invalid_grant', async () => {
    const browser = new TestBrowser();
    await signIn(browser, stack);
    const refreshToken = stack.idp.grants.at(-1)!.tokens[1]!;
    const revoked = await fetch(`${stack.idp.issuer}/token/revocation`, {
      method: 'POST',
      headers: {
        authorization: `Basic ${Buffer.from(`${CLIENT_ID}:${stack.clientSecret}`).toString('base64')}`,
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: new URLSearchParams({ token: refreshToken, token_type_hint: 'refresh_token' }),
    });
    assert.equal(revoked.status, 200);
    await sleep(ACCESS_TOKEN_TTL_S * 1000 + 200);
    const calls = stack.upstream.received.length;
    const response = await browser.api(`${stack.app}/api/orders`);
    assert.equal(response.status, 401);
    assert.deepEqual(JSON.parse(response.body).error, 'session_expired');
    assert.ok(
      response.headers.getSetCookie().some((c) => /^__Host-gatehouse=;.*Max-Age=0/.test(c)),
      'cookie cleared',
    );
    assert.equal(stack.idp.grants.at(-1)!.error, 'invalid_grant');
    assert.equal(stack.upstream.received.length, calls, 'nothing forwarded');
    assert.equal((await browser.api(`${stack.app}/api/auth/user`)).status, 401, 'the session stays dead');
  });

  it('answers 503 while the provider is down during a refresh, and keeps the session for later', async () => {
    const browser = new TestBrowser();
    await signIn(browser, stack);
    await sleep(ACCESS_TOKEN_TTL_S * 1000 + 200);
    stack.idp.faults.offline = true;
    try {
      const calls = stack.upstream.received.length;
      const down = await browser.api(`${stack.app}/api/orders`);
      assert.equal(down.status, 503);
      assert.equal(JSON.parse(down.body).error, 'idp_unavailable');
      assert.deepEqual(down.headers.getSetCookie(), [], 'the cookie is kept');
      assert.equal(stack.upstream.received.length, calls);
    } finally {
      stack.idp.faults.offline = false;
    }
    const back = await browser.api(`${stack.app}/api/orders`);
    assert.equal(back.status, 200, 'the same session works once the provider is back');
  });

  it('answers 503 when the provider is too slow, keeping the session', async () => {
    const slow = await startStack({
      idp: { accessTokenTtlSeconds: ACCESS_TOKEN_TTL_S },
      gatehouse: (defaults) => ({ ...defaults, oidc: { ...defaults.oidc, refreshSkew: '0s', timeout: '1s' } }),
    });
    try {
      const browser = new TestBrowser();
      await signIn(browser, slow);
      await sleep(ACCESS_TOKEN_TTL_S * 1000 + 200);
      slow.idp.faults.delayMs = 2500;
      const response = await browser.api(`${slow.app}/api/orders`);
      assert.equal(response.status, 503);
      slow.idp.faults.delayMs = 0;
      await sleep(1600); // let the held-back refresh finish at the provider; its result is lost to us
      const later = await browser.api(`${slow.app}/api/auth/user`);
      assert.equal(later.status, 200, 'the session survived the slow provider');
    } finally {
      await slow.close();
    }
  });
});

describe('logout revokes', () => {
  let stack: Stack;
  before(async () => {
    stack = await startStack();
  });
  after(() => stack.close());

  it('revokes the refresh token at the provider and makes the old cookie useless', async () => {
    const browser = new TestBrowser();
    await signIn(browser, stack);
    const refreshToken = stack.idp.grants.at(-1)!.tokens[1];
    assert.equal((await introspect(stack, refreshToken!)).active, true);
    const cookie = await browser.cookie(stack.app, '__Host-gatehouse');
    const logout = await browser.api(`${stack.app}/api/auth/logout`, { method: 'POST' });
    assert.equal(logout.status, 200);
    assert.equal((await introspect(stack, refreshToken!)).active, false, 'refresh token revoked');
    const replay = await new TestBrowser().request(`${stack.app}/api/orders`, {
      headers: { cookie: `__Host-gatehouse=${cookie}`, 'x-csrf': '1' },
    });
    assert.equal(replay.status, 401);
  });
});
