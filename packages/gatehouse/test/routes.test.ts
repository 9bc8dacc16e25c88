/**
 * Route and client options: a route that attaches no token (and may run without a session), and
 * client_secret_post authentication at the token endpoint.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { TestBrowser } from './support/browser.js';
import { signIn, startStack, type Stack } from './support/stack.js';

describe('routes without a token', () => {
  let stack: Stack;
  before(async () => {
    stack = await startStack({
      gatehouse: (defaults) => ({
        ...defaults,
        routes: [
          {
            path: '/catalog',
            upstream: `${new URL(defaults.routes![0]!.upstream).origin}/catalog`,
            token: 'none',
            requireSession: false,
          },
          { path: '/status', upstream: `${new URL(defaults.routes![0]!.upstream).origin}/status`, token: 'none' },
        ],
      }),
    });
  });
  after(() => stack.close());

  it('forwards anonymous calls without any Authorization, still requiring the anti-forgery header', async () => {
    const browser = new TestBrowser();
    const response = await browser.api(`${stack.app}/api/catalog/items?page=2`, {
      headers: { authorization: 'Bearer forged' },
    });
    assert.equal(response.status, 200);
    const received = stack.upstream.received.at(-1)!;
    assert.equal(received.url, '/catalog/items?page=2');
    assert.equal(received.headers.authorization, undefined);
    assert.equal((await browser.api(`${stack.app}/api/catalog/items`, { csrf: false })).status, 403);
  });

  it('sends no token on a "none" route even for a signed-in user, but still requires the session', async () => {
    assert.equal((await new TestBrowser().api(`${stack.app}/api/status`)).status, 401);
    const browser = new TestBrowser();
    await signIn(browser, stack);
    assert.equal((await browser.api(`${stack.app}/api/status`)).status, 200);
    assert.equal(stack.upstream.received.at(-1)!.headers.authorization, undefined);
  });
});

describe('client authentication at the token endpoint', () => {
  it('signs in with client_secret_post when the client is registered for it', async () => {
    const stack = await startStack({
      registeredClientAuth: 'client_secret_post',
      gatehouse: (defaults) => ({ ...defaults, oidc: { ...defaults.oidc, clientAuth: 'client_secret_post' } }),
    });
    try {
      const browser = new TestBrowser();
      assert.equal((await signIn(browser, stack)).status, 302);
      assert.equal((await browser.api(`${stack.app}/api/auth/user`)).status, 200);
    } finally {
      await stack.close();
    }
  });

  it('fails the sign-in with a clear server error when the provider rejects the client credentials', async () => {
    const stack = await startStack({
      gatehouse: (defaults) => ({ ...defaults, oidc: { ...defaults.oidc, clientSecret: 'not-the-registered-secret' } }),
    });
    try {
      const browser = new TestBrowser();
      const callback = await signIn(browser, stack);
      assert.equal(callback.status, 500, "a misconfigured client is our fault, not the user's");
      assert.match(callback.body, /server_error/);
      assert.doesNotMatch(callback.body, /invalid_client|secret/);
      assert.equal(stack.idp.grants.at(-1)?.ok, false);
      assert.equal(stack.idp.grants.at(-1)?.error, 'invalid_client');
      assert.equal((await browser.api(`${stack.app}/api/auth/user`)).status, 401);
    } finally {
      await stack.close();
    }
  });
});
