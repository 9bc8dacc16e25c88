/**
 * The provider being unreachable is an outage, not a crash: clear 503s, readiness reporting it,
 * and recovery by itself once the provider is back.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { startDemoIdp } from '../../../examples/demo/src/idp.js';
import { createGatehouse } from '../src/index.js';
import { TestBrowser } from './support/browser.js';
import { CLIENT_ID, authorizationResponse, freePort, signIn, startStack, testClient } from './support/stack.js';

describe('identity provider outages', () => {
  it('answers a callback with 503 when the provider is down, and creates no session', async () => {
    const stack = await startStack();
    try {
      const browser = new TestBrowser();
      const callback = await authorizationResponse(browser, stack);
      await stack.idp.close();
      const response = await browser.request(callback.href, {
        navigate: true,
        from: stack.idp.issuer,
        headers: { accept: 'application/json' },
      });
      assert.equal(response.status, 503);
      assert.deepEqual(JSON.parse(response.body).error, 'idp_unavailable');
      assert.ok(!response.headers.getSetCookie().some((c) => /^__Host-gatehouse=[^;]/.test(c)));
      assert.doesNotMatch(response.body, /localhost|ECONNREFUSED|fetch failed/);
    } finally {
      await stack.close();
    }
  });

  it('starts without the provider, reports not ready, and recovers when it comes up', async () => {
    const [appPort, idpPort] = [await freePort(), await freePort()];
    const app = `http://127.0.0.1:${appPort}`;
    const clientSecret = randomBytes(24).toString('base64url');
    const gatehouse = await createGatehouse({
      publicUrl: app,
      server: { host: '127.0.0.1', port: appPort },
      admin: { host: '127.0.0.1', port: 0 },
      log: { level: 'silent' },
      oidc: { issuer: `http://localhost:${idpPort}`, clientId: CLIENT_ID, clientSecret, allowInsecureHttp: true },
      session: { secrets: [randomBytes(32).toString('base64url')] },
    });
    const { adminUrl } = await gatehouse.listen();
    try {
      assert.equal((await fetch(`${adminUrl}/healthz`)).status, 200, 'alive');
      const notReady = await fetch(`${adminUrl}/readyz`);
      assert.equal(notReady.status, 503);
      assert.equal(
        ((await notReady.json()) as { checks: { identityProvider: string } }).checks.identityProvider,
        'unavailable',
      );

      const login = await new TestBrowser().request(`${app}/api/auth/login`, {
        navigate: true,
        headers: { accept: 'application/json' },
      });
      assert.equal(login.status, 503);
      assert.equal(JSON.parse(login.body).error, 'idp_unavailable');

      const idp = await startDemoIdp({
        port: idpPort,
        publicHost: 'localhost',
        clients: [testClient(app, clientSecret)],
      });
      try {
        await sleep(2100); // discovery is retried at most every 2 s
        assert.equal((await fetch(`${adminUrl}/readyz`)).status, 200);
        const browser = new TestBrowser();
        const landing = await signIn(browser, { app, idp });
        assert.equal(landing.status, 302);
        assert.equal((await browser.api(`${app}/api/auth/user`)).status, 200);
      } finally {
        await idp.close();
      }
    } finally {
      await gatehouse.close();
    }
  });
});
