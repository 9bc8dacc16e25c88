/**
 * @gatehouse/client in real Chromium against the real demo stack: the SDK as built (dist/) is
 * loaded into the demo's page from its own origin, and every call goes through Gatehouse to the
 * demo provider and API.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { decodeJwt } from 'jose';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import type { Demo } from '../../../examples/demo/src/demo.js';
import {
  browserUnavailable,
  lastIdToken,
  launchChromium,
  signInAtProvider,
  startTestDemo,
} from '../../../examples/demo/test/support/chromium.js';

const DIST = fileURLToPath(new URL('../dist/', import.meta.url));

describe('@gatehouse/client in a real browser', { skip: browserUnavailable() }, () => {
  let demo: Demo;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;

  before(async () => {
    demo = await startTestDemo();
    browser = await launchChromium();
    context = await browser.newContext();
    // The SDK's files, served as if the app shipped them (same origin, so the app's CSP allows them).
    await context.route(`${demo.appUrl}/__sdk/**`, (route) =>
      route.fulfill({ path: `${DIST}${new URL(route.request().url()).pathname.slice('/__sdk/'.length)}` }),
    );
    page = await context.newPage();
    await page.goto(demo.appUrl);
  });
  after(async () => {
    await browser?.close();
    await demo?.close();
  });

  /**
   * Runs `body` in the page with `sdk` (the module) and `client` (a client made with `options`) in
   * scope. A string rather than a function: the test runner's transpiler would add helpers the page
   * does not have.
   */
  const inPage = <T>(body: string, options = '{}'): Promise<T> =>
    page.evaluate(`(async () => {
      const sdk = await import('/__sdk/index.js');
      const client = sdk.createGatehouseClient(${options});
      const describe = (e) => ({ name: e.name, status: e.status, code: e.code, message: e.message,
        isGatehouseError: e instanceof sdk.GatehouseError, isHttpError: e instanceof sdk.HttpError });
      ${body}
    })()`) as Promise<T>;

  it('signed out: getUser() is null, and an API call throws SessionEndedError after emitting sessionended', async () => {
    const result = await inPage<{ user: unknown; events: unknown[]; error: Record<string, unknown> }>(`
      const events = [];
      client.addEventListener('sessionended', (e) => events.push(e.detail));
      const user = await client.getUser();
      const error = await client.fetch('/api/orders').then(() => null, describe);
      return { user, events, error };
    `);
    assert.equal(result.user, null);
    assert.deepEqual(result.events, [{ code: 'unauthenticated' }]);
    assert.deepEqual(result.error, {
      name: 'SessionEndedError',
      status: 401,
      code: 'unauthenticated',
      message: 'Sign-in required.',
      isGatehouseError: true,
      isHttpError: true,
    });
  });

  it('login(returnTo) goes through the provider and comes back to returnTo', async () => {
    await inPage(`client.login('/orders/1001?from=sdk'); return null;`);
    await page.waitForURL(`${demo.idp.issuer}/**`);
    await signInAtProvider(page, 'alice');
    await page.waitForURL(`${demo.appUrl}/orders/1001?from=sdk`);

    const user = await inPage<{
      sub: string;
      name: string;
      gatehouse: { sessionExpiresAt: string; absoluteExpiresAt: string };
    }>(`return client.getUser({ slide: false });`);
    assert.equal(user.sub, 'alice');
    assert.equal(user.name, 'Alice Anderson');
    assert.ok(Date.parse(user.gatehouse.sessionExpiresAt) > Date.now());
    assert.ok(Date.parse(user.gatehouse.absoluteExpiresAt) >= Date.parse(user.gatehouse.sessionExpiresAt));
  });

  it('adds the anti-forgery header that a plain fetch lacks, and sends the cookie same-origin', async () => {
    const result = await inPage<{ plain: number; plainError: string; viaClient: number; orders: string[] }>(`
      const plain = await fetch('/api/orders');
      const viaClient = await client.fetch('/api/orders');
      const { orders } = await client.fetchJson('/api/orders');
      return { plain: plain.status, plainError: (await plain.json()).error, viaClient: viaClient.status,
        orders: orders.map((o) => o.id) };
    `);
    assert.equal(result.plain, 403);
    assert.equal(result.plainError, 'csrf_header_missing');
    assert.equal(result.viaClient, 200);
    assert.deepEqual(result.orders, ['1001', '1002', '1003']);
  });

  it('sends JSON bodies with fetchJson({ json })', async () => {
    const created = await inPage<{ received: unknown; customerId: string }>(
      `return client.fetchJson('/api/orders', { method: 'POST', json: { sku: 'MG-07', quantity: 1 } });`,
    );
    assert.deepEqual(created, { received: { sku: 'MG-07', quantity: 1 }, customerId: 'alice' });
  });

  it('hashes every body for CloudFront in front of a Lambda function URL when asked (contentSha256)', async () => {
    const result = await inPage<{ sent: Record<string, string | null>; refused: string }>(
      `
      const sent = {};
      const spy = sdk.createGatehouseClient({ contentSha256: true, fetch: (url, init) => {
        sent[init.method ?? 'GET'] = new Headers(init.headers).get('x-amz-content-sha256');
        return fetch(url, init);
      } });
      await spy.fetchJson('/api/orders', { method: 'POST', json: { sku: 'MG-07', quantity: 1 } });
      await spy.fetch('/api/orders', { method: 'DELETE' });
      await spy.fetch('/api/orders');
      const refused = await spy.fetch('/api/orders', { method: 'PUT', body: new ReadableStream() })
        .then(() => 'sent', (e) => e.name);
      return { sent, refused };
    `,
    );
    const hex = (text: string) => createHash('sha256').update(text).digest('hex');
    assert.deepEqual(result.sent, {
      POST: hex(JSON.stringify({ sku: 'MG-07', quantity: 1 })),
      DELETE: hex(''),
      GET: null,
    });
    assert.equal(result.refused, 'TypeError');
  });

  it('fetch() resolves error statuses; fetchJson() throws HttpError with the JSON error code', async () => {
    const result = await inPage<{ status: number; error: Record<string, unknown> }>(`
      const response = await client.fetch('/api/orders/2001');
      const error = await client.fetchJson('/api/orders/2001').then(() => null, describe);
      return { status: response.status, error };
    `);
    assert.equal(result.status, 404);
    assert.equal(result.error.name, 'HttpError');
    assert.equal(result.error.status, 404);
    assert.equal(result.error.code, 'not_found');
    assert.equal(result.error.isGatehouseError, true);
  });

  it('refuses to send credentials or the header to another origin', async () => {
    const error = await inPage<{ name: string; message: string }>(
      `return client.fetch('https://example.com/api/orders').then(() => null, (e) => ({ name: e.name, message: e.message }));`,
    );
    assert.equal(error.name, 'TypeError');
    assert.match(error.message, /not on this origin/);
  });

  it('throws NetworkError when offline, and passes aborts through as AbortError', async () => {
    await context.setOffline(true);
    try {
      const offline = await inPage<Record<string, unknown>>(
        `return client.fetchJson('/api/orders').then(() => null, describe);`,
      );
      assert.equal(offline.name, 'NetworkError');
      assert.equal(offline.isGatehouseError, true);
    } finally {
      await context.setOffline(false);
    }
    const aborted = await inPage<Record<string, unknown>>(`
      const abort = new AbortController();
      abort.abort();
      return client.fetch('/api/orders', { signal: abort.signal }).then(() => null, describe);
    `);
    assert.equal(aborted.name, 'AbortError');
    assert.equal(aborted.isGatehouseError, false);
  });

  it("signals an ended session (here: the provider's back-channel logout) and can sign in again by itself", async () => {
    const before = await inPage<number>(`return (await client.fetch('/api/orders')).status;`);
    assert.equal(before, 200);
    const sid = decodeJwt(lastIdToken(demo, 'alice')).sid as string;
    await demo.idp.backchannelLogout('gatehouse-demo', 'alice', sid);

    // The provider still has its own session for alice, so the new sign-in completes without a
    // form and lands back on this page with a new session.
    const relogin = page.waitForRequest(`${demo.appUrl}/api/auth/login?returnTo=%2Forders%2F1001%3Ffrom%3Dsdk`);
    const outcome = await inPage<{ events: unknown[]; error: Record<string, unknown> }>(
      `
      const events = [];
      client.onSessionEnded((detail) => events.push(detail));
      const error = await client.fetch('/api/orders').then(() => null, describe);
      return { events, error };
    `,
      `{ onSessionEnded: 'login' }`,
    );
    assert.deepEqual(outcome.events, [{ code: 'session_expired' }]);
    assert.equal(outcome.error.name, 'SessionEndedError');
    await relogin;
    await page.waitForURL(`${demo.appUrl}/orders/1001?from=sdk`);
    await page.getByRole('heading', { name: 'Order #1001' }).waitFor();
    const user = await inPage<{ sub: string } | null>(`return client.getUser();`);
    assert.equal(user?.sub, 'alice');
  });

  it('logout() ends the session and leaves for the provider, then the app', async () => {
    assert.equal((await inPage<{ sub: string }>(`return client.getUser();`)).sub, 'alice');
    const leaving = page.waitForURL(`${demo.idp.issuer}/session/end**`);
    await inPage(`await client.logout(); return null;`);
    await leaving;
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.waitForURL(`${demo.appUrl}/`);
    assert.equal(await inPage(`return client.getUser();`), null);
  });
});
