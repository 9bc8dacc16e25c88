/**
 * Several apps and providers in real Chromium: the SDK's `login({ provider })` signs in at the
 * provider it names and comes back to the app signed in with it; two apps on two host names of one
 * Gatehouse each keep their own session, and a session cookie carried from one to the other is
 * refused there.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { inPage, sdkContext } from './support/sdk-page.js';
import { browserUnavailable, launchChromium, signInAtProvider } from '../../../examples/demo/test/support/chromium.js';
import { startAppsStack, type AppsStack } from '../../gatehouse/test/support/apps-stack.js';
import { redisUnavailable } from '../../gatehouse/test/support/redis.js';

const skip = browserUnavailable() || (await redisUnavailable());

interface User {
  iss: string;
  gatehouse: { provider: string };
}

describe('@gatehouse/client with several apps and providers, in Chromium', { skip }, () => {
  let stack: AppsStack;
  let browser: Browser;
  before(async () => {
    stack = await startAppsStack();
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    await stack?.close();
  });

  const appContext = () => sdkContext(browser, [stack.shop, stack.admin]);
  const userIn = (page: Page) => inPage<User | null>(page, 'return await client.getUser();');

  it("signs in at the provider the SDK names, and the other app's host stays signed out", async () => {
    const { context, page } = await appContext();
    try {
      await page.goto(`${stack.shop}/app`);
      // Leaves the page: the evaluation's promise dies with it.
      void inPage(page, `client.login('/app', { provider: 'partner' });`).catch(() => {});
      await page.waitForURL(`${stack.partner.issuer}/**`);
      await signInAtProvider(page, 'alice');
      await page.waitForURL(`${stack.shop}/app`);
      const user = await userIn(page);
      assert.equal(user?.gatehouse.provider, 'partner');
      assert.equal(user?.iss, stack.partner.issuer);

      await page.goto(`${stack.admin}/app`);
      assert.equal(await userIn(page), null, 'no session at the admin app');
      assert.deepEqual(
        (await context.cookies(stack.admin)).filter((c) => c.name.startsWith('__Host-')),
        [],
        "the shop's cookie is the shop host's alone",
      );
    } finally {
      await context.close();
    }
  });

  it("refuses the shop's session cookie planted at the admin app, and leaves the shop's session be", async () => {
    const { context, page } = await appContext();
    try {
      await page.goto(`${stack.shop}/api/auth/login?returnTo=%2Fapp`);
      await signInAtProvider(page, 'alice');
      await page.waitForURL(`${stack.shop}/app`);
      const [session] = (await context.cookies(stack.shop)).filter((c) => c.name === '__Host-gatehouse');
      assert.ok(session, 'signed in at the shop');
      await context.addCookies([{ ...session, domain: new URL(stack.admin).hostname }]);
      await page.goto(`${stack.admin}/app`);
      assert.equal(await userIn(page), null, "the shop's session is nothing at the admin app");
      await page.goto(`${stack.shop}/app`);
      assert.equal((await userIn(page))?.gatehouse.provider, 'default', 'the shop session is intact');
    } finally {
      await context.close();
    }
  });
});
