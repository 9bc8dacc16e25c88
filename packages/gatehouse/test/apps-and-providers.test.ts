/**
 * Several frontends and several providers in one Gatehouse, all real: one listener serving a shop
 * at shop.localhost, an admin app at admin.localhost and a help app under shop.localhost/help, two
 * oidc-provider instances (the default one on localhost, a "partner" on 127.0.0.2), sessions in
 * Redis. Sessions never cross between apps, whatever a browser sends; a session keeps to the
 * provider it signed in with for refresh, logout and back-channel logout.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { SignJWT, importJWK } from 'jose';
import type { DemoIdp } from '../../../examples/demo/src/idp.js';
import { ADMIN_TOKEN, startAppsStack, type AppsStack } from './support/apps-stack.js';
import { TestBrowser } from './support/browser.js';
import { dumpRedis, REDIS_URL, redisUnavailable } from './support/redis.js';
import { SPA_INDEX } from './support/spa-build.js';
import { signIn } from './support/stack.js';
import type { TestUpstream } from './support/upstream.js';

const redisSkip = await redisUnavailable();
const COOKIE = '__Host-gatehouse';

interface User {
  sub: string;
  iss: string;
  sid: string;
  gatehouse: { provider: string };
}

describe('several apps and providers on one Gatehouse', { skip: redisSkip }, () => {
  let stack: AppsStack;
  let shop: string;
  let admin: string;
  let help: string;
  let idp: DemoIdp;
  let partner: DemoIdp;
  let upstream: TestUpstream;
  let adminUrl: string;
  let prefix: string;
  before(async () => {
    stack = await startAppsStack();
    ({ shop, admin, help, idp, partner, upstream, adminUrl, prefix } = stack);
  });
  after(() => stack?.close());

  const user = async (browser: TestBrowser, app: string) => {
    const response = await browser.api(`${app}/api/auth/user`);
    return { status: response.status, user: response.status === 200 ? (JSON.parse(response.body) as User) : undefined };
  };

  it('serves each app on its own host, with its own client registration, routes and session', async () => {
    const browser = new TestBrowser();
    assert.equal((await signIn(browser, { app: shop, idp })).status, 302);
    assert.equal(idp.grants.at(-1)!.clientId, 'shop', "the shop's own registration");
    assert.equal((await browser.api(`${shop}/api/orders`)).status, 200);
    assert.match(upstream.received.at(-1)!.headers.authorization ?? '', /^Bearer /);
    assert.equal((await browser.api(`${admin}/api/reports`)).status, 401, 'no admin session in this browser');
    assert.equal((await signIn(browser, { app: admin, idp })).status, 302);
    assert.equal(idp.grants.at(-1)!.clientId, 'admin', "the admin app's own registration");
    assert.equal((await browser.api(`${admin}/api/reports`)).status, 200);
    assert.equal((await browser.api(`${admin}/api/orders`)).status, 404, "the shop's routes are not the admin app's");
    assert.equal((await browser.api(`${shop}/api/reports`)).status, 404, "nor the admin app's the shop's");
    // Each app keeps its records under a prefix of its own.
    const keys = [...(await dumpRedis(REDIS_URL, prefix)).keys()].map((key) => key.slice(prefix.length));
    assert.ok(
      keys.some((key) => key.startsWith('s:')),
      'the main app (the shop) at the prefix itself',
    );
    assert.ok(
      keys.some((key) => key.startsWith('admin/s:')),
      'the admin app under admin/',
    );
  });

  it('refuses a session of one app in another, both ways, though secrets and cookie name are the same', async () => {
    const shopper = new TestBrowser();
    const operator = new TestBrowser();
    await signIn(shopper, { app: shop, idp });
    await signIn(operator, { app: admin, idp });
    const shopCookie = await cookieValue(shopper, shop, COOKIE);
    const adminCookie = await cookieValue(operator, admin, COOKIE);
    const planted = async (app: string, value: string) => {
      const browser = new TestBrowser();
      await browser.jar.setCookie(`${COOKIE}=${value}; Secure; HttpOnly; Path=/; SameSite=Strict`, app);
      return (await browser.api(`${app}/api/auth/user`)).status;
    };
    assert.equal(await planted(admin, shopCookie), 401, "the shop's session at the admin app");
    assert.equal(await planted(shop, adminCookie), 401, "the admin app's session at the shop");
    assert.equal(await planted(shop, shopCookie), 200, 'the same cookie where it belongs');
    assert.equal((await user(shopper, shop)).status, 200, 'nothing lost');
    assert.equal((await user(operator, admin)).status, 200, 'nothing lost');
  });

  it('serves an app under a path prefix: its SPA, endpoints, callback and cookie', async () => {
    const browser = new TestBrowser();
    const index = await browser.request(`${help}/`, { navigate: true });
    assert.equal(index.status, 200);
    assert.equal(index.body, SPA_INDEX, "the help app's build");
    const deepLink = await browser.request(`${help}/articles/42`, { navigate: true });
    assert.equal(deepLink.body, SPA_INDEX, 'deep links under the prefix get its index.html');
    const login = await browser.request(`${help}/api/auth/login`, { navigate: true });
    const authorize = new URL(login.headers.get('location')!);
    assert.equal(authorize.searchParams.get('client_id'), 'help');
    assert.equal(authorize.searchParams.get('redirect_uri'), `${help}/api/auth/callback`);
    const landed = await signIn(browser, { app: help, idp });
    assert.equal(landed.headers.get('location'), '/help/', 'back to the app, not to the host');
    assert.equal((await user(browser, help)).status, 200);
    assert.ok((await browser.jar.getCookies(shop)).some((c) => c.key === '__Host-help'));
    assert.equal((await user(browser, shop)).status, 401, 'the shop at the same host has no session');
    const problem = await browser.request(`${help}/api/auth/login?provider=partner`, { navigate: true });
    assert.equal(problem.status, 400, "the shop's provider is not the help app's");
    assert.match(
      problem.body,
      /href="\/help\/api\/auth\/login"[^]*href="\/help\/"/,
      "the error page's links stay in the app",
    );
    const logout = await browser.api(`${help}/api/auth/logout`, { method: 'POST' });
    const logoutUrl = new URL((JSON.parse(logout.body) as { logoutUrl: string }).logoutUrl);
    assert.equal(logoutUrl.searchParams.get('post_logout_redirect_uri'), `${help}/`);
  });

  it('signs in with the provider named, and keeps the session to it for refresh and logout', async () => {
    const browser = new TestBrowser();
    await signIn(browser, { app: shop, idp: partner }, { login: { provider: 'partner' } });
    const { user: signedIn } = await user(browser, shop);
    assert.equal(signedIn!.gatehouse.provider, 'partner');
    assert.equal(signedIn!.iss, partner.issuer);
    // The partner's tokens live a second: the next call refreshes, at the partner.
    const refreshesAtDefault = idp.grants.filter((g) => g.grantType === 'refresh_token').length;
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    assert.equal((await browser.api(`${shop}/api/orders`)).status, 200);
    const refresh = partner.grants.filter((g) => g.grantType === 'refresh_token');
    assert.ok(refresh.length >= 1 && refresh.every((g) => g.ok && g.clientId === 'shop-at-partner'));
    assert.equal(idp.grants.filter((g) => g.grantType === 'refresh_token').length, refreshesAtDefault);
    // A new sign-in (a step-up) with no provider named stays with the session's.
    const again = await browser.request(`${shop}/api/auth/login?prompt=login`, { navigate: true });
    assert.ok(again.headers.get('location')!.startsWith(`${partner.issuer}/`), 'to the partner again');
    const logout = await browser.api(`${shop}/api/auth/logout`, { method: 'POST' });
    assert.ok((JSON.parse(logout.body) as { logoutUrl: string }).logoutUrl.startsWith(`${partner.issuer}/`));
    // Without a session, no provider named: the default one.
    const fresh = await new TestBrowser().request(`${shop}/api/auth/login`, { navigate: true });
    assert.ok(fresh.headers.get('location')!.startsWith(`${idp.issuer}/`));
  });

  it('refuses a provider that is not configured for the app with 400, never falling back to a default', async () => {
    const browser = new TestBrowser();
    for (const [app, query] of [
      [shop, 'provider=nobody'],
      [shop, 'provider=partner&provider=partner'],
      [shop, 'provider='],
      [admin, 'provider=partner'], // the shop's provider, not the admin app's
    ] as const) {
      const page = await browser.request(`${app}/api/auth/login?${query}`, { navigate: true });
      assert.equal(page.status, 400, query);
      assert.equal(page.headers.get('location'), null, 'no sign-in started');
      assert.match(page.body, /invalid_request/);
    }
    assert.equal((await browser.request(`${shop}/api/auth/login?provider=default`, { navigate: true })).status, 302);
  });

  it('ends sessions by back-channel logout only for the provider and app that sent it', async () => {
    const atPartner = new TestBrowser();
    const atDefault = new TestBrowser();
    const atAdmin = new TestBrowser();
    await signIn(atPartner, { app: shop, idp: partner }, { login: { provider: 'partner' } });
    await signIn(atDefault, { app: shop, idp });
    await signIn(atAdmin, { app: admin, idp });
    const partnerUser = (await user(atPartner, shop)).user!;
    const defaultUser = (await user(atDefault, shop)).user!;
    const adminUser = (await user(atAdmin, admin)).user!;
    // The partner's key signing a token that claims the default provider's issuer: refused.
    const key = await importJWK(partner.signingKey, 'RS256');
    const forged = await new SignJWT({
      iss: idp.issuer,
      aud: 'shop',
      sub: defaultUser.sub,
      sid: defaultUser.sid,
      jti: randomBytes(8).toString('hex'),
      events: { 'http://schemas.openid.net/event/backchannel-logout': {} },
    })
      .setProtectedHeader({ alg: 'RS256', typ: 'logout+jwt', kid: partner.signingKey.kid })
      .setIssuedAt()
      .setExpirationTime('2m')
      .sign(key);
    const refused = await fetch(`${shop}/api/auth/backchannel-logout`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ logout_token: forged }),
    });
    assert.equal(refused.status, 400);
    assert.equal((await user(atDefault, shop)).status, 200, 'the forged token ended nothing');

    await partner.backchannelLogout('shop-at-partner', partnerUser.sub, partnerUser.sid);
    assert.equal((await user(atPartner, shop)).status, 401, "the partner's session ended");
    assert.equal((await user(atDefault, shop)).status, 200, "the default provider's session lives on");
    assert.equal((await user(atAdmin, admin)).status, 200, "and the admin app's");

    await idp.backchannelLogout('admin', adminUser.sub, adminUser.sid);
    assert.equal((await user(atAdmin, admin)).status, 401, "the admin app's session ended at its own endpoint");
    assert.equal((await user(atDefault, shop)).status, 200, "the shop's session at the same provider lives on");
  });

  it('reports every app and provider on the admin listener, and administers each app by name', async () => {
    const ready = await fetch(`${adminUrl}/readyz`);
    assert.equal(ready.status, 200);
    assert.deepEqual(await ready.json(), {
      status: 'ready',
      checks: { sessionStore: 'ok', identityProvider: 'ok', providers: { 'main/partner': 'ok' } },
    });
    const operator = new TestBrowser();
    await signIn(operator, { app: admin, idp });
    const headers = { authorization: `Bearer ${ADMIN_TOKEN}` };
    const listed = async (app?: string) => {
      const query = new URLSearchParams({ sub: 'alice', ...(app && { app }) });
      const response = await fetch(`${adminUrl}/sessions?${query}`, { headers });
      return response.status === 200 ? (await response.json()).sessions.length : response.status;
    };
    assert.ok((await listed('admin')) >= 1, "the admin app's sessions");
    const ended = await fetch(`${adminUrl}/sessions?sub=alice&app=admin`, { method: 'DELETE', headers });
    assert.ok(((await ended.json()) as { ended: number }).ended >= 1);
    assert.equal((await user(operator, admin)).status, 401);
    assert.equal(await listed('nowhere'), 400, 'an app that does not exist');
  });
});

async function cookieValue(browser: TestBrowser, url: string, name: string): Promise<string> {
  const cookie = (await browser.jar.getCookies(url)).find((c) => c.key === name);
  assert.ok(cookie, `${name} is set for ${url}`);
  return cookie.value;
}
