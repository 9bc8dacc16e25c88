/**
 * Every way a sign-in can be tampered with, each answered with a clear 4xx, no session, no token
 * request that should not happen, and nothing leaked.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { TestBrowser, type SeenResponse } from './support/browser.js';
import { authorizationResponse, signIn, startStack, type Stack } from './support/stack.js';

function assertNoSession(response: SeenResponse): void {
  assert.ok(!response.headers.getSetCookie().some((c) => /^__Host-gatehouse=[^;]/.test(c)), 'no session cookie is set');
}

function assertJsonError(response: SeenResponse, status: number, error: string): void {
  assert.equal(response.status, status, response.body);
  assert.equal(JSON.parse(response.body).error, error);
  assert.equal(response.headers.get('location'), null);
}

describe('callback and login hardening', () => {
  let stack: Stack;
  before(async () => {
    stack = await startStack();
  });
  after(() => stack.close());

  const codeGrants = () => stack.idp.grants.filter((g) => g.grantType === 'authorization_code').length;
  const callback = (browser: TestBrowser, url: URL | string) =>
    browser.request(String(url), { navigate: true, from: stack.idp.issuer, headers: { accept: 'application/json' } });

  it('refuses a callback without state', async () => {
    const browser = new TestBrowser();
    const url = await authorizationResponse(browser, stack);
    url.searchParams.delete('state');
    const grants = codeGrants();
    const response = await callback(browser, url);
    assertJsonError(response, 400, 'invalid_state');
    assertNoSession(response);
    assert.equal(codeGrants(), grants, 'the code was not redeemed');
  });

  it('refuses a state that does not match the transaction', async () => {
    const browser = new TestBrowser();
    const url = await authorizationResponse(browser, stack);
    url.searchParams.set('state', 'x'.repeat(43));
    const grants = codeGrants();
    assertJsonError(await callback(browser, url), 400, 'invalid_state');
    assert.equal(codeGrants(), grants);
  });

  it('refuses a valid callback URL in another browser (state is bound to the browser that started)', async () => {
    const url = await authorizationResponse(new TestBrowser(), stack);
    const grants = codeGrants();
    const other = new TestBrowser();
    const response = await callback(other, url);
    assertJsonError(response, 400, 'invalid_state');
    assertNoSession(response);
    assert.equal(codeGrants(), grants);
    // No transaction cookie at all on an http site: most likely a browser that keeps no Secure
    // cookies there (WebKit, even on localhost). The answer says so.
    assert.match(JSON.parse(response.body).message, /did not keep the sign-in cookie.*over https/);
  });

  it('says only "unknown sign-in" when the browser has a transaction cookie, just not this one', async () => {
    const browser = new TestBrowser();
    await browser.request(`${stack.app}/api/auth/login`, { navigate: true });
    const url = await authorizationResponse(new TestBrowser(), stack);
    const response = await callback(browser, url);
    assertJsonError(response, 400, 'invalid_state');
    assert.doesNotMatch(JSON.parse(response.body).message, /did not keep/);
  });

  it('refuses a replayed callback, even with the original cookies, without a second token request', async () => {
    const browser = new TestBrowser();
    const url = await authorizationResponse(browser, stack);
    const savedCookies = await browser.jar.serialize();
    const grants = codeGrants();
    const first = await callback(browser, url);
    assert.equal(first.status, 302);
    assert.equal(codeGrants(), grants + 1);

    const attacker = new TestBrowser();
    await attacker.jar.removeAllCookies();
    const { CookieJar } = await import('tough-cookie');
    const restored = await CookieJar.deserialize(savedCookies);
    Object.assign(attacker, { jar: restored });
    const replay = await callback(attacker, url);
    assertJsonError(replay, 400, 'invalid_state');
    assertNoSession(replay);
    assert.equal(codeGrants(), grants + 1, 'no second token request');
  });

  it('shows a navigating browser an escaped HTML error page for an IdP error, and creates no session', async () => {
    const browser = new TestBrowser();
    const start = await browser.request(`${stack.app}/api/auth/login`, { navigate: true });
    const state = new URL(start.headers.get('location')!).searchParams.get('state')!;
    const query = new URLSearchParams({
      error: 'access_denied',
      error_description: '<script>alert(1)</script>',
      state,
      iss: stack.idp.issuer,
    });
    const response = await browser.request(`${stack.app}/api/auth/callback?${query}`, {
      navigate: true,
      from: stack.idp.issuer,
    });
    assert.equal(response.status, 400);
    assert.match(response.headers.get('content-type')!, /^text\/html/);
    assert.match(response.body, /access_denied/);
    assert.doesNotMatch(response.body, /<script/);
    assert.match(response.headers.get('content-security-policy')!, /default-src 'none'/);
    assertNoSession(response);
    assert.equal((await browser.api(`${stack.app}/api/auth/user`)).status, 401);
  });

  it('refuses duplicated callback parameters', async () => {
    const browser = new TestBrowser();
    const url = await authorizationResponse(browser, stack);
    const duplicated = `${url.href}&code=second`;
    const grants = codeGrants();
    assertJsonError(await callback(browser, duplicated), 400, 'invalid_request');
    assert.equal(codeGrants(), grants);
  });

  it('checks the RFC 9207 iss parameter before redeeming the code (mix-up defence)', async () => {
    for (const tamper of [
      (u: URL) => u.searchParams.set('iss', 'https://evil.test'),
      (u: URL) => u.searchParams.delete('iss'),
    ]) {
      const browser = new TestBrowser();
      const url = await authorizationResponse(browser, stack);
      tamper(url);
      const grants = codeGrants();
      const response = await callback(browser, url);
      assertJsonError(response, 400, 'login_failed');
      assertNoSession(response);
      assert.equal(codeGrants(), grants, 'no token request after a failed iss check');
    }
  });

  it('refuses a tampered login-transaction cookie', async () => {
    const browser = new TestBrowser();
    const url = await authorizationResponse(browser, stack);
    const cookies = await browser.jar.getCookies(stack.app);
    const tx = cookies.find((c) => c.key.startsWith('__Host-gatehouse-login-'))!;
    tx.value = `${tx.value.slice(0, -4)}AAAA`;
    await browser.jar.setCookie(tx, stack.app);
    assertJsonError(await callback(browser, url), 400, 'invalid_state');
  });

  it('never redirects off-site: hostile returnTo values are refused before anything starts', async () => {
    const hostile = [
      'https://evil.test',
      '//evil.test',
      '/\\evil.test',
      '\\\\evil.test',
      'https:evil.test',
      'javascript:alert(1)',
      '/\r\nSet-Cookie:x=1',
      '/\tevil',
      ' /ok',
      'evil.test',
    ];
    for (const returnTo of hostile) {
      const browser = new TestBrowser();
      const response = await browser.request(`${stack.app}/api/auth/login?returnTo=${encodeURIComponent(returnTo)}`, {
        navigate: true,
        headers: { accept: 'application/json' },
      });
      assert.equal(response.status, 400, returnTo);
      assert.equal(JSON.parse(response.body).error, 'invalid_return_to');
      assert.equal(response.headers.get('location'), null);
      assert.deepEqual(response.headers.getSetCookie(), [], 'no transaction starts');
    }
    // An encoded "//" is a path on this site, not another host; the browser ends up here.
    const landing = await signIn(new TestBrowser(), stack, { returnTo: '/%2F%2Fevil.test' });
    assert.equal(landing.headers.get('location'), '/%2F%2Fevil.test');
  });

  it('starts sign-in only from a top-level navigation', async () => {
    for (const headers of [
      { 'sec-fetch-dest': 'image', 'sec-fetch-mode': 'no-cors' },
      { 'sec-fetch-dest': 'iframe', 'sec-fetch-mode': 'navigate' },
      { 'sec-fetch-dest': 'empty', 'sec-fetch-mode': 'cors' },
    ]) {
      const response = await new TestBrowser().request(`${stack.app}/api/auth/login`, { headers });
      assert.equal(response.status, 403, JSON.stringify(headers));
      assert.equal(JSON.parse(response.body).error, 'navigation_required');
    }
  });

  it('builds redirect_uri from the configuration, never from Host or X-Forwarded-*', async () => {
    const response = await new TestBrowser().request(`${stack.app}/api/auth/login`, {
      navigate: true,
      headers: { host: 'evil.test', 'x-forwarded-host': 'evil.test', 'x-forwarded-proto': 'https' },
    });
    assert.equal(response.status, 302);
    const authorize = new URL(response.headers.get('location')!);
    assert.equal(authorize.searchParams.get('redirect_uri'), `${stack.app}/api/auth/callback`);
    assert.equal(authorize.searchParams.get('response_type'), 'code');
    assert.equal(authorize.searchParams.get('code_challenge_method'), 'S256');
    assert.ok(authorize.searchParams.get('state')!.length >= 43);
    assert.ok(authorize.searchParams.get('nonce')!.length >= 43);
  });
});

describe('session cookie hardening', () => {
  let stack: Stack;
  before(async () => {
    stack = await startStack();
  });
  after(() => stack.close());

  it('answers forged, truncated, oversized and garbage session cookies with 401 JSON and clears them', async () => {
    const browser = new TestBrowser();
    await signIn(browser, stack);
    const real = (await browser.cookie(stack.app, '__Host-gatehouse'))!;
    const values = [
      real.slice(0, 20),
      `${real.slice(0, -1)}${real.endsWith('A') ? 'B' : 'A'}`,
      'A'.repeat(43),
      'x'.repeat(10 * 1024),
      "' OR 1=1 --",
      '%00%00',
      '{"$ne":null}',
    ];
    for (const value of values) {
      const response = await new TestBrowser().request(`${stack.app}/api/orders`, {
        headers: { cookie: `__Host-gatehouse=${value}`, 'x-csrf': '1' },
      });
      assert.equal(response.status, 401, value.slice(0, 30));
      assert.equal(JSON.parse(response.body).error, 'session_expired');
      assert.ok(response.headers.getSetCookie().some((c) => /^__Host-gatehouse=;.*Max-Age=0/.test(c)));
    }
    assert.equal(stack.upstream.received.length, 0, 'nothing reached the upstream');
    assert.equal((await browser.api(`${stack.app}/api/auth/user`)).status, 200, 'the real session survived');
  });

  it('requires the anti-forgery header on API calls and forwards nothing without it', async () => {
    const browser = new TestBrowser();
    await signIn(browser, stack);
    const before = stack.upstream.received.length;
    for (const headers of [{}, { 'x-csrf': '0' }, { 'x-csrf': '' }] as Record<string, string>[]) {
      const response = await browser.api(`${stack.app}/api/orders`, { csrf: false, headers });
      assertJsonError(response, 403, 'csrf_header_missing');
    }
    const form = await browser.request(`${stack.app}/api/orders`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'amount=1000',
    });
    assert.equal(form.status, 403);
    assert.equal(stack.upstream.received.length, before);
    assertJsonError(
      await browser.api(`${stack.app}/api/auth/logout`, { method: 'POST', csrf: false }),
      403,
      'csrf_header_missing',
    );
    assert.equal(
      (await browser.api(`${stack.app}/api/auth/user`)).status,
      200,
      'logout without the header ended nothing',
    );
  });
});
