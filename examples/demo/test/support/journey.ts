/**
 * The demo's browser journey, one test body for every engine (support/engines.ts): Chromium,
 * Firefox ESR and WebKit (WebKitGTK), each from Debian. A user signs in on the provider's page,
 * calls the API, follows and reloads a deep link, has the session ended by back-channel logout and
 * signed in again by the SDK, hears a logout made elsewhere through the SDK's session events, and
 * signs out; meanwhile we look for tokens everywhere the page could hold one, read the session
 * cookie's flags as the engine stores them, and attack the API from a page on another site and one
 * on a sibling origin. Each engine has a test file of its own (engines-<engine>.test.ts), so the
 * three run side by side, each within the runner's time limit. Screenshots: .artifacts/<engine>-<step>.png.
 */
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { decodeJwt } from 'jose';
import type { Demo } from '../../src/demo.js';
import { issuedTokens, startAttackerPages } from './attacks.js';
import { freePort } from '../../../../packages/gatehouse/test/support/stack.js';
import { ARTIFACTS, lastIdToken, startTestDemo } from './chromium.js';
import { startTlsFront, type TlsFront } from './tls-front.js';
import {
  clickText,
  engineUnavailable,
  openEngine,
  selectedEngines,
  shows,
  waitFor,
  waitForUrl,
  within,
  type EngineName,
  type EnginePage,
} from './engines.js';

/** A step that hangs fails on its own, naming itself, long before the file's time limit. */
const STEP = { timeout: 45_000 };

export function describeJourney(engine: EngineName): void {
  if (!selectedEngines().includes(engine)) return;
  describe(`the demo in ${engine}`, { skip: engineUnavailable(engine) }, () => {
    let demo: Demo;
    let front: TlsFront;
    let appPort: number;
    let page: EnginePage;
    before(async () => {
      // Served over https, as in production: TLS ends at a front (a load balancer's part), and
      // Gatehouse's publicUrl is the front's. (Plain http: see the last test.)
      appPort = await freePort();
      front = await startTlsFront(appPort);
      demo = await startTestDemo('standard', process.env, { app: appPort, publicUrl: front.url });
      page = await openEngine(engine);
      // Which version each engine was, for docs/frontend.md's table.
      mkdirSync(ARTIFACTS, { recursive: true });
      writeFileSync(`${ARTIFACTS}${engine}-version.txt`, `${page.version}\n`);
    });
    after(async () => {
      await page?.close();
      await demo?.close();
      await front?.close();
    });

    const app = (path = '/') => `${demo.appUrl}${path}`;
    const signedInHome = () => waitFor(page, shows('h1, h2', 'Welcome back, Alice'), 'the signed-in home screen');
    /** The provider's sign-in page: fill in the form and submit it, as a user would. */
    const signInAtProvider = async (on = page) => {
      await waitFor(on, `document.querySelector('input[name=username]')`, "the provider's sign-in form");
      await on.evaluate(`(() => {
        document.querySelector('input[name=username]').value = 'alice';
        document.querySelector('input[name=password]').value = 'alice';
      })()`);
      await clickText(on, 'Sign in');
    };
    const apiStatus = (path: string, headers: Record<string, string> = { 'X-CSRF': '1' }) =>
      page.evaluate<number>(
        `fetch(${JSON.stringify(path)}, { headers: ${JSON.stringify(headers)} }).then((r) => r.status)`,
      );

    it('signs in through the provider and shows the dashboard', STEP, async () => {
      await page.goto(app('/'));
      await waitFor(page, shows('h1, h2', 'Your orders, one click away'), 'the signed-out home screen');
      await clickText(page, 'Sign in');
      await waitForUrl(page, `${demo.idp.issuer}/**`);
      await signInAtProvider();
      await waitForUrl(page, app('/'));
      await signedInHome();
      await waitFor(page, `document.querySelectorAll('table tbody tr').length === 3`, 'three recent orders');
      assert.match(await page.evaluate<string>(`document.querySelector('table tbody tr').innerText`), /#1003/);
      await page.screenshot('signed-in');
    });

    it('calls the API through Gatehouse with the anti-forgery header, and is refused without it', STEP, async () => {
      assert.equal(await apiStatus('/api/orders'), 200);
      assert.equal(await apiStatus('/api/orders', {}), 403, 'no X-CSRF header');
    });

    it('opens an order by client-side routing, and the deep link survives a reload', STEP, async () => {
      await page.evaluate(`window.marker = 'still here'`);
      await clickText(page, '#1002');
      await waitForUrl(page, app('/orders/1002'));
      await waitFor(page, shows('h1, h2', 'Order #1002'), 'the order page');
      assert.equal(await page.evaluate(`window.marker`), 'still here', 'client-side routing: no page load');
      await page.screenshot('order-detail');
      await page.goto(app('/orders/1002'));
      await waitFor(page, shows('h1, h2', 'Order #1002'), 'the order page, reloaded');
      assert.equal(await page.evaluate(`window.marker ?? null`), null, 'a real page load, answered with index.html');
    });

    it('keeps every token out of cookies, storage and IndexedDB; stores the session cookie as set', STEP, async () => {
      await page.goto(app('/'));
      await signedInHome();
      const tokens = issuedTokens(demo);
      assert.ok(tokens.length >= 3, 'the provider issued an access, a refresh and an ID token');
      const stored = await page.evaluate<Record<string, string>>(`(async () => ({
        cookie: document.cookie,
        local: JSON.stringify(Object.entries(localStorage)),
        session: JSON.stringify(Object.entries(sessionStorage)),
        indexedDb: JSON.stringify(indexedDB.databases ? await indexedDB.databases() : []),
      }))()`);
      assert.equal(stored.cookie, '', 'the session cookie is HttpOnly: invisible to scripts');
      assert.equal(stored.indexedDb, '[]', 'no IndexedDB databases');
      for (const [where, value] of Object.entries(stored)) {
        for (const token of tokens) assert.ok(!value.includes(token), `${where} holds a token`);
      }
      const cookies = await page.cookies();
      const session = cookies.find((c) => c.name === '__Host-gatehouse');
      assert.ok(session, `cookies: ${cookies.map((c) => c.name).join(', ')}`);
      assert.deepEqual(
        { httpOnly: session.httpOnly, secure: session.secure, sameSite: session.sameSite, path: session.path },
        { httpOnly: true, secure: true, sameSite: 'Strict', path: '/' },
      );
      assert.equal(session.domain.replace(/^\./, ''), 'localhost');
      assert.ok(!session.domain.startsWith('.'), 'host-only: no Domain attribute');
      assert.ok(!cookies.some((c) => c.name.startsWith('__Host-gatehouse-login')), 'login transaction cleared');
      for (const cookie of cookies) {
        for (const token of tokens) assert.ok(!cookie.value.includes(token), `cookie ${cookie.name} holds a token`);
      }
    });

    it(
      'refuses the session to pages of other origins (cross-site and same-site), by form and by fetch',
      STEP,
      async () => {
        const attacks = await startAttackerPages(demo.appUrl, front.pki.server);
        try {
          const before = demo.api.requests.length;
          // Cross-site, SameSite=Strict keeps the cookie at home (unauthenticated); from a sibling
          // origin of the same site the cookie goes along and the origin checks refuse.
          for (const [origin, refusals] of [
            [attacks.crossSite, ['unauthenticated']],
            [attacks.sameSite, ['origin_not_allowed', 'csrf_header_missing']],
          ] as const) {
            await page.goto(`${origin}/fetch`);
            const outcomes = await page.evaluate<string[]>(`window.attack`);
            assert.equal(outcomes.length, 3);
            // Blocked outright, or (no-cors) an opaque answer the page cannot look into.
            for (const outcome of outcomes) assert.match(outcome, /: (blocked|opaque)$/, `${origin}: ${outcome}`);

            for (const type of ['text/plain', 'application/x-www-form-urlencoded']) {
              await page.goto(`${origin}/form?type=${encodeURIComponent(type)}`);
              await waitForUrl(page, app('/api/orders'));
              await waitFor(page, `document.body && document.body.innerText.includes('"error"')`, 'the refusal');
              const body = await page.evaluate<string>(`document.body.innerText`);
              const { error } = JSON.parse(body) as { error: string };
              assert.ok((refusals as readonly string[]).includes(error), `${origin} form ${type}: ${body}`);
              assert.doesNotMatch(body, /1001|Alice/);
            }
          }
          assert.equal(demo.api.requests.length, before, 'the orders API received nothing from the attacks');
          await page.goto(app('/'));
          await signedInHome();
        } finally {
          await attacks.close();
        }
      },
    );

    it(
      'notices a session ended elsewhere (back-channel logout) and signs in again to the same page',
      STEP,
      async () => {
        const sid = decodeJwt(lastIdToken(demo, 'alice')).sid as string;
        const signIns = () => demo.idp.grants.filter((g) => g.grantType === 'authorization_code').length;
        const before = signIns();
        await demo.idp.backchannelLogout('gatehouse-demo', 'alice', sid);
        // The provider's own session is still there (only the app's ended): the new sign-in needs no form.
        await clickText(page, '#1002');
        await waitForUrl(page, app('/orders/1002'));
        await waitFor(page, shows('h1, h2', 'Order #1002'), 'the order page after signing in again');
        assert.equal(signIns(), before + 1, 'the SDK sent the browser through a new sign-in');
        await page.goto(app('/'));
        await signedInHome();
      },
    );

    it("hears through the SDK's session events, within a second, of a logout made elsewhere", STEP, async () => {
      // The SDK as built, in the app's page: it reads the event stream with fetch (the engine's streams).
      await page.evaluate(`(async () => {
        const sdk = await import('/__sdk/index.js');
        const client = sdk.createGatehouseClient();
        window.__heard = [];
        client.addEventListener('sessionended', (e) => window.__heard.push({ code: e.detail.code, at: Date.now() }));
        const started = new Promise((resolve) => client.addEventListener('sessionupdate', resolve, { once: true }));
        window.__stop = client.watchSession();
        await started;
      })()`);
      const cookie = (await page.cookies()).find((c) => c.name === '__Host-gatehouse')!;
      const loggedOutAt = Date.now();
      // Another tab's logout, as Gatehouse sees it (a request with the same cookie).
      const logout = await fetch(`http://127.0.0.1:${appPort}/api/auth/logout`, {
        method: 'POST',
        headers: { cookie: `__Host-gatehouse=${cookie.value}`, 'x-csrf': '1', 'sec-fetch-site': 'same-origin' },
      });
      assert.equal(logout.status, 200);
      await waitFor(page, `window.__heard.length > 0`, "the SDK's sessionended", 3_000);
      const [heard] = await page.evaluate<{ code: string; at: number }[]>(`window.__heard`);
      assert.equal(heard!.code, 'session_ended');
      assert.ok(heard!.at - loggedOutAt < 1_000, `heard after ${heard!.at - loggedOutAt} ms`);
      await page.evaluate(`window.__stop()`);
      // Signed in again for what follows: the provider still has its session.
      await page.goto(app('/api/auth/login?returnTo=%2F'));
      await waitForUrl(page, app('/'));
      await signedInHome();
    });

    it('signs out at the provider and lands signed out', STEP, async () => {
      await clickText(page, 'Sign out');
      await waitForUrl(page, `${demo.idp.issuer}/**`);
      await waitFor(page, `document.querySelector('button[value=yes]')`, "the provider's sign-out page");
      await clickText(page, 'Sign out');
      await waitForUrl(page, app('/'));
      await waitFor(page, shows('h1, h2', 'Your orders, one click away'), 'the signed-out home screen');
      await page.screenshot('signed-out');
      assert.equal(await apiStatus('/api/orders'), 401);
      assert.ok(!(await page.cookies()).some((c) => c.name === '__Host-gatehouse'), 'session cookie removed');
    });

    it('sends a signed-out visitor of a deep link to sign in, and back to the link', STEP, async () => {
      await page.goto(app('/orders/1003'));
      await waitForUrl(page, `${demo.idp.issuer}/**`);
      await signInAtProvider();
      await waitForUrl(page, app('/orders/1003'));
      await waitFor(page, shows('h1, h2', 'Order #1003'), 'the deep-linked order');
    });

    // The one difference between the engines that Gatehouse's users meet: Chromium and Firefox
    // treat http://localhost as a secure context and keep Secure (and __Host-) cookies from it;
    // WebKit keeps none, so a sign-in over plain http loses its transaction cookie. Gatehouse says
    // so at the callback instead of a bare "unknown sign-in".
    it(
      `signs in over plain http://localhost ${engine === 'webkit' ? 'only over https, and says why' : 'too'}`,
      STEP,
      async () => {
        // A browser of its own: nothing of the journey above (cookies, connections) plays a part.
        const plain = await within(20_000, 'the plain-http demo to start', startTestDemo());
        const fresh = await within(20_000, `a second ${engine}`, openEngine(engine));
        try {
          await within(20_000, 'the sign-in page', fresh.goto(`${plain.appUrl}/api/auth/login`));
          await waitForUrl(fresh, `${plain.idp.issuer}/**`);
          await signInAtProvider(fresh);
          await waitForUrl(fresh, `${plain.appUrl}/**`);
          if (engine === 'webkit') {
            await waitFor(fresh, shows('body', 'did not keep the sign-in cookie'), 'the explanation');
            assert.match(await fresh.evaluate<string>(`document.body.innerText`), /open the app over https/);
            await fresh.screenshot('http-localhost');
          } else {
            await waitForUrl(fresh, `${plain.appUrl}/`);
            const status = fresh.evaluate<number>(
              `fetch('/api/auth/user', { headers: { 'X-CSRF': '1' } }).then((r) => r.status)`,
            );
            assert.equal(await within(10_000, 'the user call', status), 200);
          }
        } finally {
          await within(20_000, `the second ${engine} to close`, fresh.close());
          await within(20_000, 'the plain-http demo to stop', plain.close());
        }
      },
    );
  });
}
