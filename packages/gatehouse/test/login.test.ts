/**
 * The main journey against a real provider: sign in through its login form, read the user, call
 * an API through the proxy, sign out, and prove no token ever reached the browser.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { TestBrowser } from './support/browser.js';
import { leakedTokens, signIn, startStack, type Stack } from './support/stack.js';

describe('sign-in, API call, sign-out', () => {
  let stack: Stack;
  before(async () => {
    stack = await startStack();
  });
  after(() => stack.close());

  it('signs in through the provider, proxies with the Bearer token, and signs out for good', async () => {
    const browser = new TestBrowser();
    const landing = await signIn(browser, stack, { returnTo: '/orders/1002?tab=items#top' });
    assert.equal(landing.status, 302);
    assert.equal(landing.headers.get('location'), '/orders/1002?tab=items#top');
    assert.equal(landing.headers.get('cache-control'), 'no-store');
    assert.equal(landing.headers.get('referrer-policy'), 'no-referrer');

    const setCookies = landing.headers.getSetCookie();
    const session = setCookies.find((c) => c.startsWith('__Host-gatehouse='))!;
    assert.match(session, /^__Host-gatehouse=[A-Za-z0-9_-]{43}; Path=\/; HttpOnly; Secure; SameSite=Strict$/);
    assert.ok(
      setCookies.some((c) => c.startsWith('__Host-gatehouse-login-') && /Max-Age=0/.test(c)),
      'the login transaction cookie is cleared at the callback',
    );
    const cookieValue = (await browser.cookie(stack.app, '__Host-gatehouse'))!;

    const user = await browser.api(`${stack.app}/api/auth/user`);
    assert.equal(user.status, 200);
    assert.equal(user.headers.get('cache-control'), 'no-store');
    const claims = JSON.parse(user.body);
    assert.equal(claims.sub, 'alice');
    assert.equal(claims.name, 'Alice Anderson');
    assert.equal(claims.email, 'alice@example.com');
    assert.equal(claims.nonce, undefined, 'protocol claims stay server-side');
    assert.match(claims.gatehouse.logoutUrl, /^\/api\/auth\/logout\?sid=/);

    const call = await browser.api(`${stack.app}/api/orders/42?expand=items`, {
      headers: { authorization: 'Bearer attacker', 'x-forwarded-for': '10.0.0.1' },
    });
    assert.equal(call.status, 200);
    const received = stack.upstream.received.at(-1)!;
    assert.equal(received.url, '/orders/42?expand=items');
    assert.match(received.headers.authorization!, /^Bearer ey/);
    assert.notEqual(received.headers.authorization, 'Bearer attacker');
    assert.ok(
      stack.idp.issuedTokens().includes(received.headers.authorization!.slice(7)),
      'the token the provider issued',
    );
    assert.equal(received.headers.cookie, undefined, "the browser's cookie never reaches the upstream");
    assert.equal(received.headers['x-csrf'], undefined);
    assert.equal(received.headers['x-forwarded-for'], '127.0.0.1');
    assert.equal(received.headers['x-forwarded-host'], new URL(stack.app).host);

    const logout = await browser.api(`${stack.app}/api/auth/logout`, { method: 'POST' });
    assert.equal(logout.status, 200);
    const { logoutUrl } = JSON.parse(logout.body);
    const endSession = new URL(logoutUrl);
    assert.equal(endSession.origin, stack.idp.issuer);
    assert.equal(endSession.searchParams.get('post_logout_redirect_uri'), `${stack.app}/`);
    assert.ok(endSession.searchParams.get('id_token_hint'), 'id_token_hint is sent to the provider only');
    assert.ok(logout.headers.getSetCookie().some((c) => /^__Host-gatehouse=;.*Max-Age=0/.test(c)));

    // The old cookie, replayed by hand, is useless now.
    const replayed = new TestBrowser();
    await replayed.jar.setCookie(`__Host-gatehouse=${cookieValue}; Path=/; Secure; HttpOnly`, stack.app);
    const before = stack.upstream.received.length;
    const afterLogout = await replayed.api(`${stack.app}/api/orders`);
    assert.equal(afterLogout.status, 401);
    assert.deepEqual(JSON.parse(afterLogout.body).error, 'session_expired');
    assert.equal(stack.upstream.received.length, before, 'nothing reached the upstream');
    assert.equal((await replayed.api(`${stack.app}/api/auth/user`)).status, 401);

    // The ID token went to the provider in the logout URL, which the SPA navigates to; every other
    // token stayed on the server. Leave the logout response out of the scan for that reason.
    // The session id appears in a Set-Cookie header and nowhere else: no URL, no body, no other header.
    for (const seen of browser.seen) {
      const elsewhere = [
        seen.url,
        seen.body,
        ...[...seen.headers].filter(([n]) => n !== 'set-cookie').map(([n, v]) => `${n}: ${v}`),
      ];
      assert.ok(!elsewhere.join('\n').includes(cookieValue), `session id exposed by ${seen.url}`);
    }
    browser.seen.splice(browser.seen.indexOf(logout), 1);
    assert.deepEqual(leakedTokens(browser, stack), []);
  });

  it('gives each sign-in a new session id and ends the session it replaces', async () => {
    const browser = new TestBrowser();
    await signIn(browser, stack);
    const first = await browser.cookie(stack.app, '__Host-gatehouse');
    await signIn(browser, stack); // the provider remembers alice: no form this time
    const second = await browser.cookie(stack.app, '__Host-gatehouse');
    assert.ok(first && second && first !== second);
    assert.equal((await browser.api(`${stack.app}/api/auth/user`)).status, 200);

    const old = new TestBrowser();
    await old.jar.setCookie(`__Host-gatehouse=${first}; Path=/; Secure; HttpOnly`, stack.app);
    assert.equal((await old.api(`${stack.app}/api/auth/user`)).status, 401);
  });

  it('builds the post-logout URL from the configuration, never from Host or X-Forwarded-*', async () => {
    const browser = new TestBrowser();
    await signIn(browser, stack);
    const logout = await browser.api(`${stack.app}/api/auth/logout`, {
      method: 'POST',
      headers: { host: 'evil.test', 'x-forwarded-host': 'evil.test', 'x-forwarded-proto': 'https' },
    });
    const url = new URL(JSON.parse(logout.body).logoutUrl);
    assert.equal(url.searchParams.get('post_logout_redirect_uri'), `${stack.app}/`);
  });

  it('answers unauthenticated API calls with 401 JSON, never a redirect to the provider', async () => {
    const browser = new TestBrowser();
    for (const path of ['/api/auth/user', '/api/orders', '/api/orders/1']) {
      const response = await browser.api(`${stack.app}${path}`);
      assert.equal(response.status, 401, path);
      assert.equal(response.headers.get('location'), null);
      assert.deepEqual(JSON.parse(response.body), { error: 'unauthenticated', message: 'Sign-in required.' });
    }
  });

  it('serves a GET logout link only with the session-bound sid', async () => {
    const browser = new TestBrowser();
    await signIn(browser, stack);
    const user = JSON.parse((await browser.api(`${stack.app}/api/auth/user`)).body);
    const forged = await browser.request(`${stack.app}/api/auth/logout?sid=forged`, { navigate: true });
    assert.equal(forged.status, 400);
    assert.equal((await browser.api(`${stack.app}/api/auth/user`)).status, 200, 'a forged link ends nothing');
    const real = await browser.request(`${stack.app}${user.gatehouse.logoutUrl}`, { navigate: true });
    assert.equal(real.status, 302);
    assert.ok(real.headers.get('location')!.startsWith(`${stack.idp.issuer}/session/end`));
    assert.equal((await browser.api(`${stack.app}/api/auth/user`)).status, 401);
  });
});
