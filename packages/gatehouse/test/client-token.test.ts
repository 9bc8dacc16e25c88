/**
 * Routes that carry the application's own identity: client-credentials tokens, cached and shared
 * by all requests, and "user-or-client" routes that prefer the signed-in user's token.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { decodeJwt } from 'jose';
import { TestBrowser } from './support/browser.js';
import { CLIENT_ID, signIn, startStack, type Stack } from './support/stack.js';

describe('client-credentials routes', () => {
  let stack: Stack;
  before(async () => {
    stack = await startStack({
      gatehouse: (defaults) => {
        const origin = new URL(defaults.routes![0]!.upstream).origin;
        return {
          ...defaults,
          routes: [
            { path: '/catalog', upstream: `${origin}/catalog`, token: 'client', scope: 'orders:read' },
            { path: '/feed', upstream: `${origin}/feed`, token: 'user-or-client' },
          ],
        };
      },
    });
  });
  after(() => stack.close());

  const clientGrants = () => stack.idp.grants.filter((g) => g.grantType === 'client_credentials');
  const lastToken = () => decodeJwt(stack.upstream.received.at(-1)!.headers.authorization!.slice('Bearer '.length));

  it('attaches a client-credentials token, fetched once and reused', async () => {
    const browser = new TestBrowser();
    await signIn(browser, stack);
    const before = clientGrants().length;
    for (let i = 0; i < 3; i++) assert.equal((await browser.api(`${stack.app}/api/catalog/items`)).status, 200);
    await Promise.all(Array.from({ length: 10 }, () => browser.api(`${stack.app}/api/catalog/items`)));
    assert.equal(clientGrants().length - before, 1, 'one client-credentials grant for all calls');
    const claims = lastToken();
    assert.equal(claims.client_id, CLIENT_ID);
    assert.notEqual(claims.sub, 'alice', 'the app, not the user');
  });

  it('still requires a session on a "client" route by default', async () => {
    assert.equal((await new TestBrowser().api(`${stack.app}/api/catalog/items`)).status, 401);
  });

  it('uses the user token when signed in and the client token otherwise on "user-or-client" routes', async () => {
    const anonymous = await new TestBrowser().api(`${stack.app}/api/feed`);
    assert.equal(anonymous.status, 200);
    assert.notEqual(lastToken().sub, 'alice');
    const browser = new TestBrowser();
    await signIn(browser, stack);
    assert.equal((await browser.api(`${stack.app}/api/feed`)).status, 200);
    assert.equal(lastToken().sub, 'alice');
  });
});
