/**
 * Step-up authentication (RFC 9470) against the demo provider, which really raises `acr` when asked
 * (password, then password and a one-time code): routes that demand an acr or a recent sign-in
 * answer 401 step_up_required naming what they need, before any upstream call; a sign-in with
 * acr_values / max_age reaches it and the route then serves; a provider that does not grant what
 * was asked changes nothing; an upstream's own challenge reaches the browser the same way.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { decodeJwt } from 'jose';
import { MFA_ACR } from '../../../examples/demo/src/step-up.js';
import { defineExtension } from '../src/index.js';
import { TestBrowser } from './support/browser.js';
import { signIn, startStack, type Stack } from './support/stack.js';
import { echo } from './support/upstream.js';

/** An extension endpoint whose upstream call may meet a step-up challenge. */
const transferSummary = defineExtension({
  name: 'transfers',
  upstreams: ['api'],
  endpoints: [{ path: '/transfer-summary', handler: ({ upstreams }) => upstreams.api.get('/orders/transfer') }],
});

describe('step-up authentication', () => {
  let stack: Stack;
  before(async () => {
    stack = await startStack({
      extensions: [transferSummary],
      gatehouse: (d) => {
        const api = new URL(d.routes![0]!.upstream).origin;
        return {
          ...d,
          upstreams: { api: { url: api } },
          routes: [
            ...d.routes!,
            { path: '/payments', upstream: `${api}/payments`, authorize: { acr: [MFA_ACR] } },
            { path: '/profile', upstream: `${api}/profile`, authorize: { maxAge: '2s' } },
          ],
        };
      },
    });
  });
  after(() => stack?.close());

  async function signedIn(options: Parameters<typeof signIn>[2] = {}): Promise<TestBrowser> {
    const browser = new TestBrowser();
    const callback = await signIn(browser, stack, options);
    assert.equal(callback.status, 302, callback.body);
    return browser;
  }
  const acrOf = async (browser: TestBrowser) => JSON.parse((await browser.api(`${stack.app}/api/auth/user`)).body).acr;

  it('asks for the acr a route demands, before calling its upstream, and serves it after the step-up', async () => {
    // A plain sign-in: the demo provider names no acr unless asked, so none is reached.
    const browser = await signedIn();
    assert.notEqual(await acrOf(browser), MFA_ACR);
    const calls = stack.upstream.received.length;
    const refused = await browser.api(`${stack.app}/api/payments/7`);
    assert.equal(refused.status, 401);
    assert.deepEqual(JSON.parse(refused.body), {
      error: 'step_up_required',
      message: 'This needs a stronger or more recent sign-in.',
      acr_values: MFA_ACR,
    });
    assert.equal(stack.upstream.received.length, calls, 'the upstream saw nothing');
    assert.equal((await browser.api(`${stack.app}/api/orders/1`)).status, 200, 'the session itself is fine');

    const stepUp = await signIn(browser, stack, { login: { acr_values: MFA_ACR }, returnTo: '/payments/7' });
    assert.equal(stepUp.status, 302, stepUp.body);
    assert.equal(stepUp.headers.get('location'), '/payments/7');
    assert.equal(await acrOf(browser), MFA_ACR);
    const served = await browser.api(`${stack.app}/api/payments/7`);
    assert.equal(served.status, 200, served.body);
    const token = decodeJwt(stack.upstream.received.at(-1)!.headers.authorization!.slice('Bearer '.length));
    assert.ok(token.exp! > Date.now() / 1000, 'a token of the new sign-in');
    assert.equal((await browser.api(`${stack.app}/api/orders/1`)).status, 200);
  });

  it('changes nothing when the provider does not grant what was asked', async () => {
    const browser = await signedIn();
    const before = await browser.cookie(stack.app, '__Host-gatehouse');
    // The demo provider knows no such acr: it signs in with the password, and Gatehouse refuses the result.
    const answer = await signIn(browser, stack, { login: { acr_values: 'urn:example:unknown' } });
    assert.equal(answer.status, 403);
    assert.match(answer.body, /step_up_failed/);
    assert.equal(await browser.cookie(stack.app, '__Host-gatehouse'), before, 'the session before it stays');
    assert.equal((await browser.api(`${stack.app}/api/orders/1`)).status, 200);
    assert.equal((await browser.api(`${stack.app}/api/payments/7`)).status, 401);
  });

  it('asks for a recent sign-in where a route sets maxAge, and a sign-in with max_age gives one', async () => {
    const browser = await signedIn({ login: { max_age: '2' } });
    assert.equal((await browser.api(`${stack.app}/api/profile/me`)).status, 200, 'just signed in');
    await sleep(3_100);
    const stale = await browser.api(`${stack.app}/api/profile/me`);
    assert.equal(stale.status, 401);
    assert.equal(JSON.parse(stale.body).error, 'step_up_required');
    assert.equal(JSON.parse(stale.body).max_age, 2);
    const again = await signIn(browser, stack, { login: { max_age: '2' } });
    assert.equal(again.status, 302, again.body);
    assert.equal((await browser.api(`${stack.app}/api/profile/me`)).status, 200);
  });

  it("passes an upstream's own step-up challenge to the browser, without a pointless refresh", async () => {
    const browser = await signedIn();
    stack.upstream.handle((req, res, body) => {
      if (!req.url!.includes('transfer')) return echo(req, res, body);
      res.writeHead(401, {
        'www-authenticate': `Bearer error="insufficient_user_authentication", error_description="A different authentication level is required", acr_values="${MFA_ACR}", max_age="300"`,
      });
      res.end();
    });
    try {
      const refreshes = stack.idp.grants.filter((g) => g.grantType === 'refresh_token').length;
      const challenged = await browser.api(`${stack.app}/api/orders/transfer`);
      assert.equal(challenged.status, 401);
      const body = JSON.parse(challenged.body);
      assert.equal(body.error, 'step_up_required');
      assert.equal(body.acr_values, MFA_ACR);
      assert.equal(body.max_age, 300);
      assert.equal(stack.idp.grants.filter((g) => g.grantType === 'refresh_token').length, refreshes);
      const viaExtension = await browser.api(`${stack.app}/api/transfer-summary`);
      assert.equal(viaExtension.status, 401, 'an extension endpoint calling that upstream: the same answer');
      assert.equal(JSON.parse(viaExtension.body).error, 'step_up_required');
      assert.equal(JSON.parse(viaExtension.body).acr_values, MFA_ACR);
    } finally {
      stack.upstream.handle(echo);
    }
  });

  it('refuses malformed step-up requests at /auth/login', async () => {
    const browser = new TestBrowser();
    for (const query of ['acr_values=a%22b', 'acr_values=', 'max_age=-1', 'max_age=soon', 'max_age=1&max_age=2']) {
      const response = await browser.request(`${stack.app}/api/auth/login?${query}`, {
        navigate: true,
        headers: { accept: 'application/json' },
      });
      assert.equal(response.status, 400, query);
      assert.equal(JSON.parse(response.body).error, 'invalid_request', query);
    }
  });
});
