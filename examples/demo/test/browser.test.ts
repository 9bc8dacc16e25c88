/**
 * The demo SPA in real Chromium: a user signs in on the provider's page, uses the app, reloads a
 * deep link and signs out, while we look for tokens everywhere the page could hold or see one, read
 * the session cookie's flags through the DevTools protocol, and attack the API from other origins.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { decodeJwt } from 'jose';
import type { Browser, BrowserContext, Page, Request } from 'playwright-core';
import type { Demo } from '../src/demo.js';
import {
  browserUnavailable,
  lastIdToken,
  launchChromium,
  screenshot,
  signInAtProvider,
  startTestDemo,
} from './support/chromium.js';
import { issuedTokens, startAttackerPages } from './support/attacks.js';

describe('the demo in a real browser', { skip: browserUnavailable() }, () => {
  let demo: Demo;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  /** Everything the page received: every response's URL, headers and body. */
  const received: string[] = [];
  /** Responses whose headers could not be read while the browser was still open (must stay empty). */
  const unreadable: string[] = [];
  let closing = false;

  before(async () => {
    demo = await startTestDemo();
    browser = await launchChromium();
    context = await browser.newContext();
    page = await context.newPage();
    page.on('response', async (response) => {
      let headers: string;
      try {
        headers = JSON.stringify(await response.allHeaders());
      } catch (error) {
        // A response still arriving when after() closes the browser cannot be read any more.
        if (!closing) unreadable.push(`${response.url()}: ${String(error)}`);
        return;
      }
      const body = await response.text().catch(() => '');
      received.push(`${response.url()}\n${headers}\n${body}`);
    });
  });
  after(async () => {
    closing = true;
    await browser?.close();
    await demo?.close();
  });

  const app = (path = '/') => `${demo.appUrl}${path}`;

  it('signs in through the provider and shows the dashboard', async () => {
    await page.goto(app('/'));
    await page.getByRole('heading', { name: 'Your orders, one click away' }).waitFor();
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await page.waitForURL(`${demo.idp.issuer}/**`);
    await signInAtProvider(page, 'alice');

    await page.waitForURL(app('/'));
    await page.getByRole('heading', { name: 'Welcome back, Alice' }).waitFor();
    const table = page.getByRole('table', { name: 'Recent orders' });
    await table.waitFor(); // rendered once the dashboard arrived
    const rows = table.locator('tbody tr');
    assert.equal(await rows.count(), 3);
    assert.match(await rows.first().innerText(), /#1003/, 'newest first');
    assert.equal(await page.locator('.user-name').innerText(), 'Alice Anderson');
    await screenshot(page, 'signed-in');
  });

  it("builds the home screen from one call to /api/dashboard, which calls both APIs with the user's token", async () => {
    const apiCalls: string[] = [];
    const record = (request: Request) => {
      const { origin, pathname } = new URL(request.url());
      if (origin === demo.appUrl && pathname.startsWith('/api/')) apiCalls.push(`${request.method()} ${pathname}`);
    };
    const ordersApiBefore = demo.api.requests.length;
    const profileApiBefore = demo.profileApi.requests.length;
    page.on('request', record);
    try {
      await page.goto(app('/'));
      await page.getByRole('region', { name: 'Your profile' }).waitFor();
      await page.getByRole('table', { name: 'Recent orders' }).waitFor();
      await page.waitForLoadState('networkidle'); // nothing else is still on its way
    } finally {
      page.off('request', record);
    }

    // What the page shows comes from the dashboard: the profile API's name, tier, points, city...
    await page.getByRole('heading', { name: 'Welcome back, Alice Anderson', exact: true }).waitFor();
    const profile = await page.getByRole('region', { name: 'Your profile' }).innerText();
    for (const text of ['Alice Anderson', 'Gold member', '1,280', 'March 2023', 'Bristol']) {
      assert.ok(profile.includes(text), `profile card shows ${text}: ${JSON.stringify(profile)}`);
    }
    // ...and the orders API's summary and recent orders, newest first.
    assert.deepEqual(
      (await page.locator('.stat').allInnerTexts()).map((t) => t.replace(/\s+/g, ' ')),
      ['Orders 3', 'On their way 2', 'Spent €213.00'],
    );
    const rows = page.getByRole('table', { name: 'Recent orders' }).locator('tbody tr');
    assert.deepEqual(
      (await rows.allInnerTexts()).map((t) => t.split('\t').map((cell) => cell.trim())),
      [
        ['#1003', 'Nov 20, 2026', 'processing', '€104.00'],
        ['#1002', 'Nov 14, 2026', 'shipped', '€36.00'],
        ['#1001', 'Oct 2, 2026', 'delivered', '€73.00'],
      ],
    );
    assert.equal(await page.locator('.notice').count(), 0, 'no part failed');

    // One call from the browser, none to the orders route...
    assert.equal(apiCalls.filter((c) => c === 'GET /api/dashboard').length, 1, apiCalls.join(', '));
    assert.ok(!apiCalls.some((c) => c.includes('/api/orders')), apiCalls.join(', '));
    // ...which Gatehouse fanned out to both internal APIs, with alice's access token.
    assert.deepEqual(demo.api.requests.slice(ordersApiBefore), [{ method: 'GET', path: '/orders/', sub: 'alice' }]);
    assert.deepEqual(demo.profileApi.requests.slice(profileApiBefore), [
      { method: 'GET', path: '/profile', sub: 'alice' },
    ]);
    await screenshot(page, 'dashboard');
  });

  it('still shows the orders when the profile part of the dashboard failed, with a notice', async () => {
    // The browser receives the partial answer Gatehouse gives when the profile API is down.
    await page.route(app('/api/dashboard'), async (route) => {
      const response = await route.fetch();
      const { profile: _dropped, ...dashboard } = (await response.json()) as Record<string, unknown>;
      const errors = {
        profile: { error: 'upstream_unavailable', message: 'The service behind this API is unavailable.' },
      };
      await route.fulfill({ response, json: { ...dashboard, errors } });
    });
    try {
      await page.goto(app('/'));
      const notice = page.getByRole('status').filter({ hasText: 'Your profile is unavailable.' });
      await notice.waitFor();
      assert.match(await notice.innerText(), /The service behind this API is unavailable\./);
      // The greeting falls back to the sign-in claims; the orders part is all there.
      await page.getByRole('heading', { name: 'Welcome back, Alice', exact: true }).waitFor();
      assert.equal(await page.getByRole('region', { name: 'Your profile' }).count(), 0);
      assert.equal(await page.getByRole('table', { name: 'Recent orders' }).locator('tbody tr').count(), 3);
      assert.equal(await page.locator('.stat').count(), 3);
      await screenshot(page, 'dashboard-partial');
    } finally {
      await page.unroute(app('/api/dashboard'));
    }
  });

  it('opens an order by client-side routing, and the deep link survives a reload', async () => {
    // A marker on window survives client-side navigation only: a full page load would erase it.
    await page.evaluate(() => ((window as unknown as { marker: string }).marker = 'still here'));
    await page.getByRole('link', { name: '#1002' }).click();
    await page.waitForURL(app('/orders/1002'));
    await page.getByRole('heading', { name: 'Order #1002' }).waitFor();
    assert.equal(await page.evaluate(() => (window as unknown as { marker?: string }).marker), 'still here');
    assert.match(await page.getByRole('table', { name: 'Items' }).innerText(), /Stoneware mug/);
    await screenshot(page, 'order-detail');

    const reload = await page.reload();
    assert.equal(reload?.status(), 200, 'the deep link is answered with index.html');
    await page.getByRole('heading', { name: 'Order #1002' }).waitFor();
    assert.equal(page.url(), app('/orders/1002'));
  });

  it("shows another customer's order as not found", async () => {
    await page.goto(app('/orders/2001'));
    await page.getByText('Order #2001 was not found in your account.').waitFor();
  });

  it('keeps every token out of cookies, storage and IndexedDB', async () => {
    await page.goto(app('/'));
    await page.getByRole('heading', { name: 'Welcome back, Alice' }).waitFor();
    const tokens = issuedTokens(demo);
    assert.ok(tokens.length >= 3, 'the provider issued an access, a refresh and an ID token');

    // A string, not a function: the test runner's transpiler would add helpers the page lacks.
    const stored = (await page.evaluate(`(async () => ({
      cookie: document.cookie,
      local: JSON.stringify(Object.entries(localStorage)),
      session: JSON.stringify(Object.entries(sessionStorage)),
      indexedDb: JSON.stringify(await indexedDB.databases()),
    }))()`)) as Record<string, string>;
    assert.equal(stored.cookie, '', 'the session cookie is HttpOnly: invisible to scripts');
    assert.equal(stored.indexedDb, '[]', 'no IndexedDB databases');
    for (const [where, value] of Object.entries(stored)) {
      for (const token of tokens) assert.ok(!value.includes(token), `${where} holds a token`);
    }
  });

  it('never lets a token reach the page in any response it received', () => {
    assert.ok(received.length > 10, `saw ${received.length} responses`);
    assert.deepEqual(unreadable, [], 'every response the page received was checked');
    for (const api of ['/api/dashboard', '/api/order-details']) {
      assert.ok(
        received.some((r) => r.includes(api)),
        `the scan covered ${api} responses`,
      );
    }
    const tokens = issuedTokens(demo);
    for (const response of received) {
      for (const token of tokens) assert.ok(!response.includes(token), `${response.split('\n')[0]} carries a token`);
    }
  });

  it('sets the session cookie HttpOnly, Secure, SameSite=Strict, host-only, Path=/ (read over CDP)', async () => {
    const cdp = await context.newCDPSession(page);
    const { cookies } = (await cdp.send('Network.getAllCookies')) as { cookies: CdpCookie[] };
    const session = cookies.find((c) => c.name === '__Host-gatehouse');
    assert.ok(session, `cookies: ${cookies.map((c) => c.name).join(', ')}`);
    assert.equal(session.httpOnly, true);
    assert.equal(session.secure, true);
    assert.equal(session.sameSite, 'Strict');
    assert.equal(session.path, '/');
    assert.equal(session.domain, 'localhost', 'no Domain attribute: host-only');
    assert.equal(session.session, true, 'a browser-session cookie: the server decides when it ends');
    assert.ok(!cookies.some((c) => c.name.startsWith('__Host-gatehouse-login')), 'login transaction cleared');
    await cdp.detach();
  });

  it('refuses the session to pages of other origins (cross-site and same-site), by form and by fetch', async () => {
    const attacks = await startAttackerPages(demo.appUrl);
    try {
      const before = demo.api.requests.length;
      // Cross-site, SameSite=Strict keeps the browser from sending the cookie at all (401); from a
      // sibling origin of the same site the cookie goes along and the origin checks refuse (403).
      for (const [origin, refusal] of [
        [attacks.crossSite, 401],
        [attacks.sameSite, 403],
      ] as const) {
        const attacker = await context.newPage();
        await attacker.goto(`${origin}/fetch`);
        const outcomes = await attacker.evaluate(() => (window as unknown as { attack: Promise<string[]> }).attack);
        assert.equal(outcomes.length, 3);
        // Blocked outright, or (no-cors) an opaque answer the page cannot look into.
        for (const outcome of outcomes) assert.match(outcome, /: (blocked|opaque)$/, `${origin}: ${outcome}`);

        for (const type of ['text/plain', 'application/x-www-form-urlencoded']) {
          const answer = attacker.waitForResponse((r) => r.url() === app('/api/orders'));
          await attacker.goto(`${origin}/form?type=${encodeURIComponent(type)}`);
          const response = await answer;
          assert.equal(response.status(), refusal, `${origin} form ${type}: ${await response.text()}`);
          assert.doesNotMatch(await response.text(), /1001|Alice/);
        }
        await attacker.close();
      }
      assert.equal(demo.api.requests.length, before, 'the orders API received nothing from the attacks');

      // The user's own session survived all of it.
      await page.goto(app('/'));
      await page.getByRole('heading', { name: 'Welcome back, Alice' }).waitFor();
    } finally {
      await attacks.close();
    }
  });

  it('notices a session ended elsewhere on its next call, and signs in again to the same page', async () => {
    const sid = decodeJwt(lastIdToken(demo, 'alice')).sid as string;
    await demo.idp.backchannelLogout('gatehouse-demo', 'alice', sid);
    // The provider's own session is still there (only the app's ended), so the new sign-in needs no form.
    const relogin = page.waitForRequest(app('/api/auth/login?returnTo=%2Forders%2F1002'));
    await page.getByRole('link', { name: '#1002' }).click();
    await relogin;
    await page.waitForURL(app('/orders/1002'));
    await page.getByRole('heading', { name: 'Order #1002' }).waitFor();
    await page.goto(app('/'));
  });

  it('signs out at the provider and lands signed out', async () => {
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.waitForURL(`${demo.idp.issuer}/**`);
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.waitForURL(app('/'));
    await page.getByRole('heading', { name: 'Your orders, one click away' }).waitFor();
    await page.getByRole('button', { name: 'Sign in', exact: true }).waitFor();
    await screenshot(page, 'signed-out');

    const status = await page.evaluate(() =>
      fetch('/api/orders', { headers: { 'X-CSRF': '1' } }).then((r) => r.status),
    );
    assert.equal(status, 401);
    const cookies = await context.cookies(app('/'));
    assert.ok(!cookies.some((c) => c.name === '__Host-gatehouse'), 'session cookie removed');
  });

  it('sends a signed-out visitor of a deep link to sign in, and back to the link', async () => {
    await page.goto(app('/orders/1003'));
    await page.waitForURL(`${demo.idp.issuer}/**`);
    await signInAtProvider(page, 'alice');
    await page.waitForURL(app('/orders/1003'));
    await page.getByRole('heading', { name: 'Order #1003' }).waitFor();
  });
});

describe('the demo as a FAPI 2.0 client, in a real browser', { skip: browserUnavailable() }, () => {
  let demo: Demo;
  let browser: Browser;
  let page: Page;
  /** Every request the page made, in order, as "METHOD url". */
  const requests: string[] = [];

  before(async () => {
    demo = await startTestDemo('fapi2');
    browser = await launchChromium();
    page = await (await browser.newContext()).newPage();
    page.on('request', (request) => requests.push(`${request.method()} ${request.url()}`));
  });
  after(async () => {
    await browser?.close();
    await demo?.close();
  });

  it('signs in by PAR, with the response POSTed back by the provider (JARM form_post), and the APIs check DPoP proofs', async () => {
    const app = demo.appUrl;
    await page.goto(`${app}/`);
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await page.waitForURL(`${demo.idp.issuer}/**`);
    await signInAtProvider(page, 'alice');
    await page.waitForURL(`${app}/`);
    await page.getByRole('heading', { name: 'Welcome back, Alice' }).waitFor();
    await page.getByRole('table', { name: 'Recent orders' }).waitFor();
    await screenshot(page, 'fapi2-signed-in');

    const authorize = requests.find((r) => r.startsWith(`GET ${demo.idp.issuer}/auth?`))!;
    assert.deepEqual([...new URL(authorize.slice(4)).searchParams.keys()].sort(), ['client_id', 'request_uri']);
    assert.ok(requests.includes(`POST ${app}/api/auth/callback`), 'the response came back as a cross-site POST');
    const bound = demo.idp.grants.find((g) => g.ok && g.grantType === 'authorization_code')!;
    assert.equal(typeof (decodeJwt(bound.tokens[0]!).cnf as { jkt?: string }).jkt, 'string', 'a DPoP-bound token');
    assert.ok(demo.api.requests.length > 0 && demo.api.requests.every((r) => r.sub === 'alice'), 'every proof held');
    assert.ok(demo.profileApi.requests.every((r) => r.sub === 'alice'));

    const stored = (await page.evaluate(`(async () => ({
      cookie: document.cookie,
      local: JSON.stringify(Object.entries(localStorage)),
      session: JSON.stringify(Object.entries(sessionStorage)),
    }))()`)) as Record<string, string>;
    for (const [where, value] of Object.entries(stored)) {
      for (const token of issuedTokens(demo)) assert.ok(!value.includes(token), `${where} holds a token`);
    }
  });
});

interface CdpCookie {
  name: string;
  domain: string;
  path: string;
  httpOnly: boolean;
  secure: boolean;
  session: boolean;
  sameSite?: string;
}

describe('the demo asking for a recent sign-in (step-up)', { skip: browserUnavailable() }, () => {
  let demo: Demo;
  let browser: Browser;
  before(async () => {
    // Details need a sign-in of the last 2 seconds here (5 minutes in the demo itself).
    demo = await startTestDemo('standard', { ...process.env, DEMO_RECENT_SIGN_IN: '2s' });
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    await demo?.close();
  });

  it('shows order details after a recent sign-in, asks to sign in again when it is old, and shows them after', async () => {
    const page = await browser.newPage();
    const app = (path: string) => `${demo.appUrl}${path}`;
    await page.goto(app('/orders/1002'));
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await signInAtProvider(page, 'alice');
    await page.waitForURL(app('/orders/1002'));
    await page.getByRole('heading', { name: 'Order #1002' }).waitFor();

    await new Promise((resolve) => setTimeout(resolve, 3_500));
    await page.reload();
    await page.getByRole('heading', { name: "Please confirm it's you" }).waitFor();
    await screenshot(page, 'step-up');
    await page.getByRole('button', { name: 'Sign in again' }).click();
    await page.waitForURL(`${demo.idp.issuer}/**`);
    await signInAtProvider(page, 'alice');
    await page.waitForURL(app('/orders/1002'));
    await page.getByRole('heading', { name: 'Order #1002' }).waitFor();
    await page.close();
  });
});
