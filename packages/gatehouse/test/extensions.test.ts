/**
 * Extension endpoints against real upstream servers and the real provider: parallel fan-out, a
 * part that times out, per-client views, claim rules and object-level checks refusing before any
 * upstream is called, tokens attached (and renewed) on every upstream call, and failures that
 * answer clear JSON and leak nothing.
 */
import assert from 'node:assert/strict';
import type { ServerResponse } from 'node:http';
import { after, before, beforeEach, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { decodeJwt } from 'jose';
import { defineExtension } from '../src/index.js';
import { TestBrowser } from './support/browser.js';
import { rawRequest } from './support/raw-http.js';
import { signIn, startStack, type Stack } from './support/stack.js';
import { echo, startUpstream, type TestUpstream } from './support/upstream.js';

const shop = defineExtension({
  name: 'shop',
  upstreams: ['orders', 'profile'],
  endpoints: [
    {
      path: '/dashboard',
      views: {
        mobile: {
          name: 'profile.name',
          latest: { from: 'orders.items', limit: 1, fields: { ref: 'id' } },
          errors: 'errors',
        },
      },
      async handler({ gather, upstreams, query }) {
        const profileTimeout = typeof query.profileTimeout === 'string' ? query.profileTimeout : undefined;
        const { results, errors } = await gather(
          {
            orders: (signal) => upstreams.orders.get<{ items: { id: string }[] }>('/', { signal }),
            profile: (signal) => upstreams.profile.get<{ name: string }>('/me', { signal, timeout: profileTimeout }),
          },
          { optional: ['profile'] },
        );
        return { orders: results.orders, profile: results.profile, errors };
      },
    },
    {
      path: '/strict-dashboard',
      async handler({ gather, upstreams }) {
        const { results } = await gather({
          orders: (signal) => upstreams.orders.get('/', { signal }),
          profile: (signal) => upstreams.profile.get('/me', { signal, timeout: 300 }),
        });
        return results;
      },
    },
    {
      path: '/admin-report',
      authorize: { roles: ['admin'] },
      handler: ({ upstreams }) => upstreams.orders.get('/report'),
    },
    {
      path: '/customers/:customerId/orders',
      allow: ({ params, user }) => params.customerId === user.sub,
      handler: ({ params, upstreams }) => upstreams.orders.get('/', { query: { customer: params.customerId } }),
    },
    {
      path: '/lookup/:id',
      handler: ({ params, upstreams }) => upstreams.orders.get(`/${encodeURIComponent(params.id!)}`),
    },
    {
      method: 'POST',
      path: '/notes',
      async handler({ body, upstreams, reply }) {
        const created = await upstreams.orders.request('/notes', { method: 'POST', body });
        reply.code(201);
        return { upstreamStatus: created.status, echoed: created.body };
      },
    },
    {
      path: '/broken',
      handler: () => {
        throw new Error('database at 10.0.0.7 refused: password=hunter2');
      },
    },
    { path: '/public', session: 'optional', handler: ({ user }) => ({ signedIn: user !== undefined }) },
  ],
});

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

const bearerSub = (authorization: string | undefined) => decodeJwt(authorization!.slice('Bearer '.length)).sub;

describe('extension endpoints', () => {
  let stack: Stack;
  let profile: TestUpstream;
  let browser: TestBrowser;
  const orders = () => stack.upstream;

  before(async () => {
    profile = await startUpstream();
    stack = await startStack({
      extensions: [shop],
      gatehouse: (defaults) => ({
        ...defaults,
        upstreams: {
          orders: { url: `${new URL(defaults.routes![0]!.upstream).origin}/orders`, maxResponseSize: 4096 },
          profile: { url: profile.url, timeout: '5s' },
        },
      }),
    });
    browser = new TestBrowser();
    await signIn(browser, stack);
  });
  after(async () => {
    await stack.close();
    await profile.close();
  });
  beforeEach(() => {
    orders().handle((_req, res) => json(res, 200, { items: [{ id: 'o-1' }, { id: 'o-2' }] }));
    profile.handle((_req, res) => json(res, 200, { name: 'Alice Anderson', email: 'alice@example.com' }));
  });

  const calls = () => orders().received.length + profile.received.length;

  it('calls the upstreams in parallel: two 200 ms upstreams answer in about 200 ms, not 400', async () => {
    const windows: Record<string, [number, number]> = {};
    const slow = (name: string, body: unknown) => async (_req: unknown, res: ServerResponse) => {
      const start = Date.now();
      await sleep(200);
      windows[name] = [start, Date.now()];
      json(res, 200, body);
    };
    orders().handle(slow('orders', { items: [] }));
    profile.handle(slow('profile', { name: 'Alice Anderson' }));
    const started = Date.now();
    const response = await browser.api(`${stack.app}/api/dashboard`);
    const elapsed = Date.now() - started;
    assert.equal(response.status, 200);
    assert.deepEqual(JSON.parse(response.body), {
      orders: { items: [] },
      profile: { name: 'Alice Anderson' },
      errors: {},
    });
    assert.ok(elapsed >= 200 && elapsed < 400, `took ${elapsed} ms`);
    const [o, p] = [windows.orders!, windows.profile!];
    assert.ok(o[0] < p[1] && p[0] < o[1], 'both upstream calls were in flight at the same time');
  });

  it("attaches the signed-in user's token to every upstream call, and nothing of the browser's", async () => {
    const before = { orders: orders().received.length, profile: profile.received.length };
    assert.equal((await browser.api(`${stack.app}/api/dashboard`)).status, 200);
    const seen = [...orders().received.slice(before.orders), ...profile.received.slice(before.profile)];
    assert.equal(seen.length, 2);
    for (const request of seen) {
      assert.equal(bearerSub(request.headers.authorization), 'alice');
      assert.equal(request.headers.cookie, undefined);
      assert.equal(request.headers['x-csrf'], undefined);
      assert.match(String(request.headers['x-request-id']), /^[0-9a-f-]{36}$/);
    }
    assert.deepEqual(
      seen.map((r) => r.url),
      ['/orders/', '/me'],
    );
  });

  it('returns what succeeded and a per-part error when an optional part times out', async () => {
    profile.handle(async (_req, res) => {
      await sleep(2_000);
      json(res, 200, { name: 'too late' });
    });
    const started = Date.now();
    const response = await browser.api(`${stack.app}/api/dashboard?profileTimeout=300ms`);
    assert.ok(Date.now() - started < 1_500, 'the part was given up at its own deadline');
    assert.equal(response.status, 200);
    const body = JSON.parse(response.body);
    assert.deepEqual(body.orders, { items: [{ id: 'o-1' }, { id: 'o-2' }] });
    assert.equal(body.profile, undefined);
    assert.deepEqual(body.errors, {
      profile: { error: 'upstream_timeout', message: 'The service behind this API did not answer in time.' },
    });
  });

  it("fails the request with the part's error when a required part fails, and says nothing about the upstream", async () => {
    profile.handle(async (_req, res) => {
      await sleep(2_000);
      json(res, 200, {});
    });
    const timedOut = await browser.api(`${stack.app}/api/strict-dashboard`);
    assert.equal(timedOut.status, 504);
    assert.equal(JSON.parse(timedOut.body).error, 'upstream_timeout');

    profile.handle((_req, res) => json(res, 500, { error: 'db down', stack: 'at /srv/profile.js:42' }));
    const failed = await browser.api(`${stack.app}/api/strict-dashboard`);
    assert.equal(failed.status, 502);
    assert.deepEqual(JSON.parse(failed.body), {
      error: 'upstream_error',
      message: 'The service behind this API could not answer this request.',
    });
    for (const leak of ['db down', '/srv/', '127.0.0.1', String(new URL(profile.url).port)]) {
      assert.ok(!failed.body.includes(leak), `response mentions ${leak}`);
    }
  });

  it('shapes the result with a view chosen by ?view= or the X-Client-Type header', async () => {
    const mobile = { name: 'Alice Anderson', latest: [{ ref: 'o-1' }], errors: {} };
    const byQuery = await browser.api(`${stack.app}/api/dashboard?view=mobile`);
    assert.deepEqual(JSON.parse(byQuery.body), mobile);
    const byHeader = await browser.api(`${stack.app}/api/dashboard`, { headers: { 'x-client-type': 'mobile' } });
    assert.deepEqual(JSON.parse(byHeader.body), mobile);
    assert.match(String(byHeader.headers.get('vary')), /x-client-type/i);
    assert.ok(byHeader.body.length < byQuery.body.length + 1 && !byHeader.body.includes('email'));

    const full = await browser.api(`${stack.app}/api/dashboard`, { headers: { 'x-client-type': 'smart-fridge' } });
    assert.ok(JSON.parse(full.body).orders, 'an unknown client type gets the full result');

    const before = calls();
    const unknown = await browser.api(`${stack.app}/api/dashboard?view=tablet`);
    assert.equal(unknown.status, 400);
    assert.deepEqual(JSON.parse(unknown.body), {
      error: 'invalid_request',
      message: 'Unknown view. Views of this endpoint: mobile.',
    });
    assert.equal(calls(), before, 'no upstream was called for a bad view');
  });

  it('refuses with 403 from a claim rule before calling any upstream', async () => {
    const before = calls();
    const response = await browser.api(`${stack.app}/api/admin-report`);
    assert.equal(response.status, 403);
    assert.deepEqual(JSON.parse(response.body), { error: 'forbidden', message: 'You are not allowed to do this.' });
    assert.equal(calls(), before);
  });

  it("refuses another customer's objects (allow) before calling any upstream, and serves the user's own", async () => {
    const before = calls();
    const other = await browser.api(`${stack.app}/api/customers/bob/orders`);
    assert.equal(other.status, 403);
    assert.equal(JSON.parse(other.body).error, 'forbidden');
    assert.equal(calls(), before);
    const own = await browser.api(`${stack.app}/api/customers/alice/orders`);
    assert.equal(own.status, 200);
    assert.equal(orders().received.at(-1)!.url, '/orders/?customer=alice');
  });

  it('needs a session and the anti-forgery header, like proxied routes', async () => {
    const before = calls();
    const anonymous = await new TestBrowser().api(`${stack.app}/api/dashboard`);
    assert.equal(anonymous.status, 401);
    assert.equal(JSON.parse(anonymous.body).error, 'unauthenticated');
    const forged = await browser.api(`${stack.app}/api/dashboard`, { csrf: false });
    assert.equal(forged.status, 403);
    assert.equal(JSON.parse(forged.body).error, 'csrf_header_missing');
    assert.equal(calls(), before);
    assert.deepEqual(JSON.parse((await new TestBrowser().api(`${stack.app}/api/public`)).body), { signedIn: false });
    assert.deepEqual(JSON.parse((await browser.api(`${stack.app}/api/public`)).body), { signedIn: true });
  });

  it('refuses hostile path parameters before they reach an upstream', async () => {
    const before = calls();
    // Sent as written: a URL parser would resolve the dot segments before they reach Gatehouse.
    const cookie = `__Host-gatehouse=${await browser.cookie(stack.app, '__Host-gatehouse')}`;
    for (const id of ['..', '%2e%2e', '..%2F..%2Fadmin']) {
      const response = await rawRequest(stack.app, `/api/lookup/${id}`, { headers: { cookie, 'x-csrf': '1' } });
      assert.equal(response.status, 400, id);
      assert.equal(JSON.parse(response.body).error, 'invalid_path', id);
    }
    assert.equal(calls(), before);
    orders().handle((req, res) => json(res, 200, { url: req.url }));
    assert.deepEqual(JSON.parse((await browser.api(`${stack.app}/api/lookup/o-1`)).body), { url: '/orders/o-1' });
  });

  it('passes JSON bodies to the handler; refuses form bodies (415) and other methods (405)', async () => {
    orders().handle(echo);
    const created = await browser.api(`${stack.app}/api/notes`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ text: 'hello' }),
    });
    assert.equal(created.status, 201);
    const body = JSON.parse(created.body);
    assert.equal(body.upstreamStatus, 200);
    assert.deepEqual(JSON.parse(body.echoed.body), { text: 'hello' });
    assert.equal(orders().received.at(-1)!.headers['content-type'], 'application/json');

    const form = await browser.api(`${stack.app}/api/notes`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'text=hello',
    });
    assert.equal(form.status, 415);
    const wrongMethod = await browser.api(`${stack.app}/api/notes`, { method: 'DELETE' });
    assert.equal(wrongMethod.status, 405);
    assert.equal(wrongMethod.headers.get('allow'), 'POST');
  });

  it('answers a handler crash with a generic 500 that leaks nothing', async () => {
    const response = await browser.api(`${stack.app}/api/broken`);
    assert.equal(response.status, 500);
    assert.deepEqual(JSON.parse(response.body), { error: 'server_error', message: 'Something went wrong.' });
    // The session survives a failing endpoint.
    assert.equal((await browser.api(`${stack.app}/api/auth/user`)).status, 200);
  });

  it("refuses an upstream answer bigger than the upstream's maxResponseSize", async () => {
    orders().handle((_req, res) => json(res, 200, { items: 'x'.repeat(10_000) }));
    const response = await browser.api(`${stack.app}/api/strict-dashboard`);
    assert.equal(response.status, 502);
    assert.equal(JSON.parse(response.body).error, 'upstream_error');
  });

  it('renews the token once after an upstream 401 and retries, like proxied routes', async () => {
    const refreshes = () => stack.idp.grants.filter((g) => g.grantType === 'refresh_token' && g.ok).length;
    const before = refreshes();
    const refused = new Set<string>();
    orders().handle((req, res) => {
      // Refuse each token once: the first call's token is "expired", the renewed one is accepted.
      if (refused.size === 0) {
        refused.add(req.headers.authorization!);
        return json(res, 401, { error: 'invalid_token' });
      }
      json(res, 200, { items: [] });
    });
    // Old enough that a refusal is worth a refresh (tokens younger than 2 s are not renewed).
    await sleep(2_100);
    const response = await browser.api(`${stack.app}/api/strict-dashboard`);
    assert.equal(response.status, 200);
    assert.equal(refreshes() - before, 1);
    const [first, second] = orders().received.slice(-2);
    assert.notEqual(first!.headers.authorization, second!.headers.authorization);
    assert.equal(bearerSub(second!.headers.authorization), 'alice');
  });
});
