/**
 * The SDK following the session in real Chromium, against two Gatehouse instances sharing Redis:
 * a logout on the other instance reaches the page as `sessionended` within a second, and silent
 * sign-in comes back signed in, or signed out with the provider's code, never to an error page.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { inPage, sdkContext } from './support/sdk-page.js';
import { browserUnavailable, launchChromium, signInAtProvider } from '../../../examples/demo/test/support/chromium.js';
import { rawRequest } from '../../gatehouse/test/support/raw-http.js';
import { redisUnavailable } from '../../gatehouse/test/support/redis.js';
import { startRuntimeStack, type RuntimeStack } from '../../gatehouse/test/support/runtimes.js';

const skip = browserUnavailable() || (await redisUnavailable());

describe('@gatehouse/client following the session in Chromium', { skip }, () => {
  let stack: RuntimeStack;
  let browser: Browser;
  before(async () => {
    stack = await startRuntimeStack('node');
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    await stack?.close();
  });

  const appContext = () => sdkContext(browser, [stack.app]);

  async function signedIn(): Promise<{ context: BrowserContext; page: Page }> {
    const app = await appContext();
    await app.page.goto(`${stack.app}/api/auth/login?returnTo=%2Fapp`);
    await signInAtProvider(app.page, 'alice');
    await app.page.waitForURL(`${stack.app}/app`);
    return app;
  }

  it('hears of a logout on the other instance within a second', async () => {
    const { context, page } = await signedIn();
    try {
      await inPage(
        page,
        `window.__heard = [];
         client.addEventListener('sessionended', (e) => window.__heard.push({ code: e.detail.code, at: Date.now() }));
         const started = new Promise((resolve) => client.addEventListener('sessionupdate', resolve, { once: true }));
         client.watchSession();
         await started;`,
      );
      const cookie = (await context.cookies(stack.app)).map((c) => `${c.name}=${c.value}`).join('; ');
      const peer = await stack.peer();
      const loggedOutAt = Date.now();
      const logout = await rawRequest(peer, '/api/auth/logout', {
        method: 'POST',
        headers: { cookie, 'x-csrf': '1', 'sec-fetch-site': 'same-origin' },
      });
      assert.equal(logout.status, 200);
      // Waits in the page (the app's CSP forbids the string evaluation waitForFunction would use).
      const [heard] = await inPage<{ code: string; at: number }[]>(
        page,
        `for (let i = 0; i < 30 && window.__heard.length === 0; i++) await new Promise((r) => setTimeout(r, 100));
         return window.__heard;`,
      );
      assert.equal(heard!.code, 'session_ended');
      assert.ok(heard!.at - loggedOutAt < 1_000, `heard after ${heard!.at - loggedOutAt} ms`);
      assert.equal(await inPage(page, 'return client.getUser();'), null);
    } finally {
      await context.close();
    }
  });

  it('signs in silently when the provider has a session, and comes back signed out when it has none', async () => {
    const { context, page } = await signedIn();
    try {
      // The app's session is gone; the provider's is not: back signed in, no page in between.
      await context.clearCookies({ name: '__Host-gatehouse' });
      await inPage(page, `client.login('/app?silent=1', { prompt: 'none' }); return null;`);
      await page.waitForURL(`${stack.app}/app?silent=1`);
      assert.equal(((await inPage(page, 'return client.getUser();')) as { sub: string }).sub, 'alice');
    } finally {
      await context.close();
    }
    const fresh = await appContext();
    try {
      await fresh.page.goto(`${stack.app}/app`);
      await inPage(fresh.page, `client.login('/app', { prompt: 'none' }); return null;`);
      await fresh.page.waitForURL(`${stack.app}/app?gatehouse_signin=login_required`);
      assert.equal(await inPage(fresh.page, 'return client.silentSignInResult();'), 'login_required');
      assert.equal(await inPage(fresh.page, 'return client.getUser();'), null);
    } finally {
      await fresh.context.close();
    }
  });
});
