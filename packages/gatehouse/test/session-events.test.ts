/**
 * GET /api/auth/events, the session as server-sent events: deadlines, "ending-soon" before a
 * timeout, "user-changed" when a refresh brings a new ID token; watching never keeps an idle
 * session alive; no session or no anti-forgery header is a clear JSON error. ("ended" within a
 * second of a logout on another instance is in the runtime suite, on every runtime.)
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { TestBrowser } from './support/browser.js';
import { rawRequest } from './support/raw-http.js';
import { redisUnavailable } from './support/redis.js';
import { startRuntimeStack, type RuntimeStack } from './support/runtimes.js';
import { listen } from './support/server-events.js';
import { signIn } from './support/stack.js';

const skip = await redisUnavailable();

describe('session events', { skip }, () => {
  let stack: RuntimeStack;
  before(async () => {
    stack = await startRuntimeStack('node', {
      idp: { accessTokenTtlSeconds: 2 },
      gatehouse: (d) => ({
        ...d,
        oidc: { ...d.oidc!, refreshSkew: '0s' },
        session: { ...d.session, idleTimeout: '8s', endingSoon: '5s' },
      }),
    });
  });
  after(() => stack?.close());

  async function signedIn(): Promise<{ browser: TestBrowser; cookie: string }> {
    const browser = new TestBrowser();
    assert.equal((await signIn(browser, stack)).status, 302);
    return { browser, cookie: await browser.jar.getCookieString(stack.app) };
  }

  it('refuses a stream without a session or without the anti-forgery header, with JSON', async () => {
    const anonymous = await rawRequest(stack.app, '/api/auth/events', { headers: { 'x-csrf': '1' } });
    assert.equal(anonymous.status, 401);
    assert.equal(JSON.parse(anonymous.body).error, 'unauthenticated');
    const { cookie } = await signedIn();
    const forged = await rawRequest(stack.app, '/api/auth/events', { headers: { cookie } });
    assert.equal(forged.status, 403);
    assert.equal(JSON.parse(forged.body).error, 'csrf_header_missing');
  });

  it('warns before the idle timeout, does not keep the session alive by watching, and says when it ended', async () => {
    const { browser, cookie } = await signedIn();
    const stream = await listen(`${stack.app}/api/auth/events`, cookie);
    try {
      const soon = await stream.next('ending-soon', 5_000);
      assert.equal(soon.data.reason, 'idle');
      assert.ok(Date.parse(String(soon.data.at)) > Date.now());
      await stream.next('ended', 9_000);
      const after = await browser.api(`${stack.app}/api/auth/user`);
      assert.equal(after.status, 401, 'watching alone did not keep it alive');
    } finally {
      stream.close();
    }
  });

  it('says "user-changed" when a refresh brings a new ID token', async () => {
    const { browser, cookie } = await signedIn();
    const stream = await listen(`${stack.app}/api/auth/events`, cookie);
    try {
      await stream.next('session', 2_000);
      await new Promise((resolve) => setTimeout(resolve, 2_200)); // the access token expires
      assert.equal((await browser.api(`${stack.app}/api/orders/1`)).status, 200, 'refreshed on the way');
      const changed = await stream.next('user-changed', 2_000);
      assert.equal(changed.data.sub, 'alice');
    } finally {
      stream.close();
    }
  });
});
