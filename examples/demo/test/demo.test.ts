/**
 * `npm start` end to end: the real demo entry point, on free ports, driven like a user would: sign
 * in on the demo provider's page, list orders from the demo API (which accepts only valid access
 * tokens), open one, sign out.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { TestBrowser } from '../../../packages/gatehouse/test/support/browser.js';
import { freePort, signIn } from '../../../packages/gatehouse/test/support/stack.js';

describe('the demo (npm start)', () => {
  let child: ChildProcess;
  let app: string;
  let idp: string;
  let output = '';

  before(async () => {
    const ports = {
      app: await freePort(),
      idp: await freePort(),
      api: await freePort(),
      profile: await freePort(),
      admin: await freePort(),
    };
    app = `http://localhost:${ports.app}`;
    idp = `http://127.0.0.1:${ports.idp}`;
    child = spawn(process.execPath, ['--import', 'tsx', new URL('../src/main.ts', import.meta.url).pathname], {
      env: {
        ...process.env,
        DEMO_APP_PORT: String(ports.app),
        DEMO_IDP_PORT: String(ports.idp),
        DEMO_API_PORT: String(ports.api),
        DEMO_PROFILE_PORT: String(ports.profile),
        DEMO_ADMIN_PORT: String(ports.admin),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout!.on('data', (chunk) => (output += chunk));
    child.stderr!.on('data', (chunk) => (output += chunk));
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`demo did not start:\n${output}`)), 20_000);
      child.stdout!.on('data', () => {
        if (output.includes('Gatehouse demo is running')) {
          clearTimeout(timer);
          resolve();
        }
      });
      child.on('exit', (code) => reject(new Error(`demo exited with ${code}:\n${output}`)));
    });
  });

  after(() => {
    child.kill('SIGTERM');
  });

  it('prints the URL to open', () => {
    assert.match(output, new RegExp(`Open ${app}`));
  });

  it('serves the SPA, signs a user in, lists and opens orders, and signs out', async () => {
    const browser = new TestBrowser();
    const home = await browser.navigate(`${app}/`);
    assert.equal(home.status, 200);
    assert.match(home.body, /<script type="module" crossorigin src="\/assets\/index-[\w-]+\.js"><\/script>/);
    const deepLink = await browser.navigate(`${app}/orders/1002`);
    assert.equal(deepLink.status, 200, 'deep links answer index.html');
    assert.equal(deepLink.body, home.body);

    assert.equal((await browser.api(`${app}/api/orders`)).status, 401);
    const landing = await signIn(
      browser,
      { app, idp: { issuer: idp } },
      { username: 'bob', password: 'bob', returnTo: '/orders/2001' },
    );
    assert.equal(landing.headers.get('location'), '/orders/2001');

    const user = JSON.parse((await browser.api(`${app}/api/auth/user`)).body);
    assert.equal(user.name, 'Bob Brown');
    const orders = JSON.parse((await browser.api(`${app}/api/orders`)).body).orders;
    assert.deepEqual(
      orders.map((o: { id: string }) => o.id),
      ['2001', '2002'],
      "the demo API saw bob's token and returned bob's orders",
    );
    const one = await browser.api(`${app}/api/orders/2001`);
    assert.equal(JSON.parse(one.body).items[0].name, 'Noise-cancelling headphones');
    assert.equal((await browser.api(`${app}/api/orders/1001`)).status, 404, "alice's order is not bob's");

    // The dashboard extension: profile and orders composed into one response, or a small one for mobile.
    const dashboard = JSON.parse((await browser.api(`${app}/api/dashboard`)).body);
    assert.deepEqual(dashboard.profile, {
      displayName: 'Bob Brown',
      tier: 'standard',
      points: 140,
      memberSince: '2025-06-02',
      city: 'Leeds',
    });
    assert.deepEqual(dashboard.summary, { orders: 2, open: 1, spent: 228.7, currency: 'EUR' });
    assert.deepEqual(
      dashboard.recentOrders.map((o: { id: string }) => o.id),
      ['2002', '2001'],
    );
    assert.deepEqual(dashboard.errors, {});
    const mobile = await browser.api(`${app}/api/dashboard`, { headers: { 'x-client-type': 'mobile' } });
    assert.deepEqual(JSON.parse(mobile.body), {
      name: 'Bob Brown',
      tier: 'standard',
      open: 1,
      recent: [
        { id: '2002', status: 'processing', total: 29.7 },
        { id: '2001', status: 'delivered', total: 199 },
      ],
      errors: {},
    });
    assert.equal((await browser.api(`${app}/api/customers/bob/summary`)).status, 200);
    const other = await browser.api(`${app}/api/customers/alice/summary`);
    assert.equal(other.status, 403, "bob may not read alice's summary");
    assert.equal(JSON.parse(other.body).error, 'forbidden');

    const logout = JSON.parse((await browser.api(`${app}/api/auth/logout`, { method: 'POST' })).body);
    assert.ok(logout.logoutUrl.startsWith(`${idp}/session/end?`));
    assert.equal((await browser.api(`${app}/api/orders`)).status, 401);
  });
});
