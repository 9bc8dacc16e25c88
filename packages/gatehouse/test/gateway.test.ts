/**
 * Gateway mode: real nginx and real Caddy, running the configurations docs/gateway.md gives, proxy
 * the API calls themselves and ask Gatehouse's gateway listener first. Sign-in goes through the
 * gateway to Gatehouse; API calls (and WebSocket handshakes) reach the upstream with the token and
 * without the cookie; what Gatehouse refuses the gateway refuses, with the same JSON; an expiry
 * storm through the gateway costs one refresh; a logged-out session is refused within
 * gateway.cacheTtl although nginx caches yeses; DPoP proofs are never reused; Gatehouse down means
 * 5xx, never a pass; and a browser cannot use the gateway listener. The listener is also asked
 * directly, as Envoy (the browser's own method and path) and Traefik (X-Forwarded-*) ask.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import WebSocket, { WebSocketServer } from 'ws';
import { parseConfig } from '../src/config/load.js';
import type { AccessRuleInput, GatehouseConfigInput } from '../src/config/schema.js';
import { MFA_ACR } from '../../../examples/demo/src/step-up.js';
import { TestBrowser } from './support/browser.js';
import { problemsOf } from './support/config.js';
import {
  CADDY,
  NGINX,
  gatewayUnavailable,
  startCaddyGateway,
  startNginxGateway,
  type RunningGateway,
} from './support/gateways.js';
import { rawRequest } from './support/raw-http.js';
import { freePort, signIn, startStack, type Stack } from './support/stack.js';
import { startVerifyingUpstream, type VerifyingUpstream } from './support/verifying-upstream.js';

const SECRET = 'gateway-secret-'.padEnd(40, 'x');
const TOKEN_TTL_S = 4;
const CACHE_TTL_S = 2;

interface GatehouseOptions {
  /** The origin browsers use (the gateway's); default: Gatehouse's own. */
  origin?: string;
  cacheTtl?: string;
  /** DPoP-bound tokens, for this API (which verifies the proofs). */
  dpop?: VerifyingUpstream;
  /** Who may use /api/orders (e.g. a step-up). */
  ordersAuthorize?: AccessRuleInput;
}

/** Gatehouse with its gateway listener, and the routes the documented gateway configurations name. */
async function startGatehouse(options: GatehouseOptions = {}): Promise<{ stack: Stack; listener: string }> {
  const listenerPort = await freePort();
  const { origin, dpop } = options;
  const stack = await startStack({
    idp: {
      accessTokenTtlSeconds: TOKEN_TTL_S,
      extraClaims: { roles: ['support'] },
      ...(dpop && { features: { dPoP: { enabled: true } } }),
    },
    client: (registration) => ({
      ...registration,
      ...(origin && { redirectUris: [`${origin}/api/auth/callback`], postLogoutRedirectUris: [`${origin}/`] }),
      ...(dpop && { metadata: { dpop_bound_access_tokens: true } }),
    }),
    gatehouse: (d): GatehouseConfigInput => {
      const api = dpop?.url ?? new URL(d.routes![0]!.upstream).origin;
      return {
        ...d,
        ...(origin && { publicUrl: origin }),
        oidc: { ...d.oidc, refreshSkew: '0s', ...(dpop && { senderConstraint: 'dpop' as const }) },
        gateway: { enabled: true, port: listenerPort, secret: SECRET, cacheTtl: options.cacheTtl ?? `${CACHE_TTL_S}s` },
        routes: [
          // The documented configurations rewrite /api/orders to /v1/orders on the API.
          { path: '/orders', upstream: `${api}/v1/orders`, websocket: true, authorize: options.ordersAuthorize },
          { path: '/admins', upstream: `${api}/admins`, authorize: { roles: ['admin'] } },
          { path: '/limited', upstream: `${api}/limited`, rateLimit: { perSession: { requests: 2, window: '1h' } } },
        ],
      };
    },
  });
  dpop?.trust({ issuer: stack.idp.issuer, audience: stack.idp.apiResource });
  return { stack, listener: `http://127.0.0.1:${listenerPort}` };
}

interface Lab {
  stack: Stack;
  gateway: RunningGateway;
  /** The gateway's origin: what the browser uses. */
  origin: string;
  /** Gatehouse's gateway listener. */
  listener: string;
  close(): Promise<void>;
}

async function startLab(start: typeof startNginxGateway, options: GatehouseOptions = {}): Promise<Lab> {
  const port = await freePort();
  const origin = `http://127.0.0.1:${port}`;
  const { stack, listener } = await startGatehouse({ ...options, origin });
  const gateway = await start({
    port,
    gatehouse: new URL(stack.app).host,
    gatehouseGateway: new URL(listener).host,
    api: new URL(options.dpop?.url ?? stack.upstream.url).host,
    secret: SECRET,
  }).catch(async (error: unknown) => {
    await stack.close();
    throw error;
  });
  return {
    stack,
    gateway,
    origin,
    listener,
    close: async () => {
      await gateway.stop();
      await stack.close();
    },
  };
}

async function signedIn(app: string, stack: Stack): Promise<TestBrowser> {
  const browser = new TestBrowser();
  const callback = await signIn(browser, { app, idp: stack.idp });
  assert.equal(callback.status, 302, callback.body);
  return browser;
}

const refreshGrants = (stack: Stack) => stack.idp.grants.filter((g) => g.grantType === 'refresh_token').length;

/** Opens a WebSocket like a page would; resolves when open, rejects with the refusal status. */
function openSocket(url: string, headers: Record<string, string>): Promise<WebSocket> {
  const socket = new WebSocket(url, { headers });
  return new Promise((resolve, reject) => {
    socket.once('open', () => resolve(socket));
    socket.once('unexpected-response', (_request, response) => reject(new Error(String(response.statusCode))));
    socket.once('error', reject);
  });
}

describe('gateway mode behind nginx', { skip: gatewayUnavailable(NGINX) }, () => {
  let lab: Lab;
  let sockets: WebSocketServer;
  before(async () => {
    lab = await startLab(startNginxGateway);
    sockets = new WebSocketServer({ server: lab.stack.upstream.server });
    sockets.on('connection', (socket, request) => {
      socket.on('message', (data) => socket.send(JSON.stringify({ echo: String(data), headers: request.headers })));
    });
  });
  after(async () => {
    sockets?.close();
    await lab?.close();
  });

  it('signs in through the gateway; the API gets the token the gateway added, and no cookie', async () => {
    const browser = await signedIn(lab.origin, lab.stack);
    const received = lab.stack.upstream.received.length;
    const response = await browser.api(`${lab.origin}/api/orders/42?x=1`);
    assert.equal(response.status, 200, response.body);
    assert.equal(JSON.parse(response.body).url, '/v1/orders/42?x=1');
    const request = lab.stack.upstream.received[received]!;
    assert.match(request.headers.authorization ?? '', /^Bearer ey/);
    assert.equal(request.headers.cookie, undefined);
    assert.equal(request.headers['x-csrf'], undefined);
    assert.match(String(request.headers['x-request-id']), /^[0-9a-f-]{36}$/);
  });

  it('refuses at the gateway what Gatehouse refuses, with the same JSON, and the API sees nothing', async () => {
    const browser = await signedIn(lab.origin, lab.stack);
    const received = lab.stack.upstream.received.length;
    // A page on another site whose request carries the cookie anyway (SameSite would keep it back in a browser).
    const cookie = await browser.jar.getCookieString(lab.origin);
    const cases = [
      [await browser.api(`${lab.origin}/api/orders/1`, { csrf: false }), 403, 'csrf_header_missing'],
      [
        await browser.api(`${lab.origin}/api/orders/1`, { from: 'https://evil.test', headers: { cookie } }),
        403,
        'origin_not_allowed',
      ],
      [await new TestBrowser().api(`${lab.origin}/api/orders/1`), 401, 'unauthenticated'],
      [await browser.api(`${lab.origin}/api/orders/1`, { method: 'PROPFIND' }), 405, 'method_not_allowed'],
      [await browser.api(`${lab.origin}/api/orders/a%2Fb`), 400, 'invalid_path'],
    ] as const;
    for (const [response, status, code] of cases) {
      assert.equal(response.status, status, `${code}: ${response.body}`);
      assert.equal(JSON.parse(response.body).error, code, response.body);
      assert.match(response.headers.get('content-type')!, /^application\/json/);
      assert.equal(response.headers.get('cache-control'), 'no-store');
    }
    // nginx resolves dot segments itself: out of the API's location, to Gatehouse's public listener.
    const dotDot = await browser.api(`${lab.origin}/api/orders/%2e%2e/admin`);
    assert.equal(dotDot.status, 404);
    assert.equal(lab.stack.upstream.received.length, received, 'the API received nothing');
  });

  it('after expiry, 50 calls through the gateway cost exactly one refresh', async () => {
    const browser = await signedIn(lab.origin, lab.stack);
    await sleep(TOKEN_TTL_S * 1000 + 200);
    const before = refreshGrants(lab.stack);
    const responses = await Promise.all(
      Array.from({ length: 50 }, (_, i) => browser.api(`${lab.origin}/api/orders/storm-${i % 5}`)),
    );
    assert.deepEqual(
      responses.map((r) => r.status),
      Array(50).fill(200),
    );
    assert.equal(refreshGrants(lab.stack) - before, 1);
  });

  it('reuses a yes for the same call, and refuses a logged-out session within gateway.cacheTtl', async () => {
    const browser = await signedIn(lab.origin, lab.stack);
    for (let i = 0; i < 3; i++) assert.equal((await browser.api(`${lab.origin}/api/orders/cached`)).status, 200);
    const replayCookie = await browser.jar.getCookieString(lab.origin);
    const logout = await browser.api(`${lab.origin}/api/auth/logout`, { method: 'POST' });
    assert.equal(logout.status, 200);
    assert.match(logout.headers.getSetCookie().join(';'), /__Host-gatehouse=;/, 'the browser forgets its cookie');

    // A copy of the cookie taken before logout, replayed: nginx answers from its cache for a while
    // (the session is gone, the yes it cached is not), then Gatehouse refuses it.
    const replayer = new TestBrowser();
    const statuses: number[] = [];
    const loggedOutAt = Date.now();
    while (statuses.at(-1) !== 401 && Date.now() - loggedOutAt < (CACHE_TTL_S + 2) * 1000) {
      statuses.push(
        (await replayer.api(`${lab.origin}/api/orders/cached`, { headers: { cookie: replayCookie } })).status,
      );
      await sleep(100);
    }
    const refusedAfter = Date.now() - loggedOutAt;
    assert.equal(statuses[0], 200, 'the first replay is answered from the cache');
    assert.equal(statuses.at(-1), 401);
    assert.ok(refusedAfter <= CACHE_TTL_S * 1000 + 300, `refused ${refusedAfter} ms after logout`);
  });

  it('passes WebSocket upgrades from the page to the API with the token, never the cookie; refuses other origins', async () => {
    const browser = await signedIn(lab.origin, lab.stack);
    const cookie = await browser.jar.getCookieString(lab.origin);
    const url = `${lab.origin.replace('http', 'ws')}/api/orders/live`;
    const socket = await openSocket(url, { cookie, origin: lab.origin });
    const reply = new Promise<string>((resolve) => socket.once('message', (data) => resolve(String(data))));
    socket.send('hello');
    const { echo, headers } = JSON.parse(await reply);
    assert.equal(echo, 'hello');
    assert.match(headers.authorization, /^Bearer ey/);
    assert.equal(headers.cookie, undefined);
    socket.close();

    await assert.rejects(openSocket(url, { cookie, origin: 'https://evil.test' }), /403/);
    await assert.rejects(openSocket(url, { origin: lab.origin }), /401/);
  });

  it('cannot be asked by a browser: the public listener has no such endpoint, the gateway listener wants the secret', async () => {
    const browser = await signedIn(lab.origin, lab.stack);
    const cookie = await browser.jar.getCookieString(lab.origin);
    const describedCall = { cookie, 'x-csrf': '1', 'x-original-uri': '/api/orders/1', 'x-original-method': 'GET' };
    const direct = await rawRequest(lab.listener, '/', { headers: describedCall });
    assert.equal(direct.status, 401);
    assert.equal(JSON.parse(direct.body).error, 'gateway_unauthorized');
    assert.equal(direct.headers.authorization, undefined);
    const wrong = await rawRequest(lab.listener, '/', {
      headers: { ...describedCall, 'x-gatehouse-gateway': 'guess' },
    });
    assert.equal(wrong.status, 401);
    assert.equal(wrong.headers.authorization, undefined);
    // The gateway's question sent to the public listener is an ordinary page request: no token in the answer.
    const publicly = await rawRequest(lab.stack.app, '/', { headers: describedCall });
    assert.equal(publicly.headers.authorization, undefined);
    // Nor can a browser reach it through the gateway: nginx keeps its auth location internal.
    const throughGateway = await browser.api(`${lab.origin}/_gatehouse`, { headers: describedCall });
    assert.equal(throughGateway.status, 404);
    assert.equal(throughGateway.headers.get('authorization'), null);
  });

  it('answers 5xx, never a pass, when Gatehouse is down', async () => {
    const browser = await signedIn(lab.origin, lab.stack);
    const received = lab.stack.upstream.received.length;
    await lab.stack.gatehouse.close();
    const response = await browser.api(`${lab.origin}/api/orders/not-cached`);
    assert.ok(response.status >= 500, String(response.status));
    assert.equal(JSON.parse(response.body).error, 'server_error');
    assert.equal(lab.stack.upstream.received.length, received);
  });
});

describe('gateway mode behind Caddy', { skip: gatewayUnavailable(CADDY) }, () => {
  let lab: Lab;
  before(async () => {
    lab = await startLab(startCaddyGateway);
  });
  after(() => lab?.close());

  it('signs in through the gateway; the API gets the token and no cookie; refusals come back as JSON', async () => {
    const browser = await signedIn(lab.origin, lab.stack);
    const received = lab.stack.upstream.received.length;
    const response = await browser.api(`${lab.origin}/api/orders/7`);
    assert.equal(response.status, 200, response.body);
    assert.equal(JSON.parse(response.body).url, '/v1/orders/7');
    const request = lab.stack.upstream.received[received]!;
    assert.match(request.headers.authorization ?? '', /^Bearer ey/);
    assert.equal(request.headers.cookie, undefined);
    assert.equal(request.headers['x-csrf'], undefined);

    const refused = await browser.api(`${lab.origin}/api/orders/7`, { csrf: false });
    assert.equal(refused.status, 403);
    assert.equal(JSON.parse(refused.body).error, 'csrf_header_missing');
    const cookie = await browser.jar.getCookieString(lab.origin);
    const crossSite = await browser.api(`${lab.origin}/api/orders/7`, {
      from: 'https://evil.test',
      headers: { cookie },
    });
    assert.equal(crossSite.status, 403);
    assert.equal(JSON.parse(crossSite.body).error, 'origin_not_allowed');
    assert.equal(lab.stack.upstream.received.length, received + 1);
  });

  it('answers 5xx, never a pass, when Gatehouse is down', async () => {
    const browser = await signedIn(lab.origin, lab.stack);
    const received = lab.stack.upstream.received.length;
    await lab.stack.gatehouse.close();
    const response = await browser.api(`${lab.origin}/api/orders/7`);
    assert.ok(response.status >= 500, String(response.status));
    assert.equal(lab.stack.upstream.received.length, received);
  });
});

describe('a step-up through nginx', { skip: gatewayUnavailable(NGINX) }, () => {
  let lab: Lab;
  before(async () => {
    lab = await startLab(startNginxGateway, { ordersAuthorize: { acr: [MFA_ACR], maxAge: '10m' } });
  });
  after(() => lab?.close());

  it('answers 401 step_up_required with what is needed, rebuilt by the documented nginx configuration', async () => {
    const browser = await signedIn(lab.origin, lab.stack);
    const received = lab.stack.upstream.received.length;
    const response = await browser.api(`${lab.origin}/api/orders/1`);
    assert.equal(response.status, 401, response.body);
    assert.deepEqual(JSON.parse(response.body), {
      error: 'step_up_required',
      message: JSON.parse(response.body).message,
      acr_values: MFA_ACR,
      max_age: 600,
    });
    assert.equal(lab.stack.upstream.received.length, received, 'the API saw nothing');
    // Signing in again as asked (the demo provider's one-time code) lets the call through.
    await signIn(browser, { app: lab.origin, idp: lab.stack.idp }, { login: { acr_values: MFA_ACR, max_age: '600' } });
    assert.equal((await browser.api(`${lab.origin}/api/orders/1`)).status, 200);
  });
});

describe('gateway mode with DPoP-bound tokens, behind nginx', { skip: gatewayUnavailable(NGINX) }, () => {
  let api: VerifyingUpstream;
  let lab: Lab;
  before(async () => {
    api = await startVerifyingUpstream({ mode: 'dpop' });
    lab = await startLab(startNginxGateway, { dpop: api });
  });
  after(async () => {
    await lab?.close();
    await api?.close();
  });

  it('gives every call a fresh proof for the URL the gateway calls: nothing cached, nothing replayed', async () => {
    const browser = await signedIn(lab.origin, lab.stack);
    for (let i = 0; i < 3; i++) {
      const response = await browser.api(`${lab.origin}/api/orders/same`, { method: 'POST' });
      assert.equal(response.status, 200, response.body);
    }
    const verdicts = api.verdicts.slice(-3);
    assert.deepEqual(
      verdicts.map((v) => [v.ok, v.method, v.path, v.reason]),
      Array(3).fill([true, 'POST', '/v1/orders/same', undefined]),
    );
    assert.equal(new Set(verdicts.map((v) => v.jti)).size, 3, 'three proofs, three jtis');
  });
});

describe('the gateway listener, asked as Envoy and Traefik ask', () => {
  let stack: Stack;
  let listener: string;
  let cookie: string;
  before(async () => {
    ({ stack, listener } = await startGatehouse({ cacheTtl: '30s' }));
    const browser = await signedIn(stack.app, stack);
    cookie = await browser.jar.getCookieString(stack.app);
  });
  after(() => stack?.close());

  /** The browser's call as the gateway passes it on: its cookie, Origin, Fetch Metadata and anti-forgery header. */
  const ask = (path: string, headers: Record<string, string> = {}, method = 'GET') =>
    rawRequest(listener, path, {
      method,
      headers: {
        'x-gatehouse-gateway': SECRET,
        cookie,
        origin: stack.app,
        'sec-fetch-site': 'same-origin',
        'x-csrf': '1',
        ...headers,
      },
    });

  it('reads the call from the request itself (Envoy) and answers with the token, reusable until it is due for renewal', async () => {
    const yes = await ask('/api/orders/1?q=2');
    assert.equal(yes.status, 200, yes.body);
    assert.match(String(yes.headers.authorization), /^Bearer ey/);
    assert.match(String(yes.headers['x-request-id']), /^[0-9a-f-]{36}$/);
    assert.equal(yes.body, '');
    // cacheTtl is 30 s, the token lives 4 s: the answer is not to be reused past the token.
    const maxAge = Number(/^max-age=(\d+)$/.exec(String(yes.headers['cache-control']))?.[1]);
    assert.ok(maxAge >= 1 && maxAge <= TOKEN_TTL_S - 1, `max-age=${maxAge}`);
  });

  it('reads the call from X-Forwarded-Method and X-Forwarded-Uri (Traefik, Caddy)', async () => {
    const yes = await ask('/', { 'x-forwarded-method': 'DELETE', 'x-forwarded-uri': '/api/orders/9' }, 'GET');
    assert.equal(yes.status, 200, yes.body);
    assert.match(String(yes.headers.authorization), /^Bearer ey/);
  });

  it("refuses by the route's authorize rules and rate limits, with the code in a header too, never cached", async () => {
    const forbidden = await ask('/api/admins/1');
    assert.equal(forbidden.status, 403);
    assert.equal(JSON.parse(forbidden.body).error, 'forbidden');
    assert.equal(forbidden.headers['x-gatehouse-error'], 'forbidden');
    assert.equal(forbidden.headers['cache-control'], 'no-store');
    assert.equal(forbidden.headers.authorization, undefined);

    const statuses = [];
    for (let i = 0; i < 3; i++) statuses.push(await ask('/api/limited/1'));
    assert.deepEqual(
      statuses.map((s) => s.status),
      [200, 200, 429],
    );
    assert.equal(statuses[2]!.headers['x-gatehouse-error'], 'rate_limited');
    assert.ok(Number(statuses[2]!.headers['retry-after']) > 0);
  });

  it('refuses what no route serves, upgrades a route does not take, and targets that are not paths', async () => {
    const cases = [
      [await ask('/api/unknown/1'), 404, 'not_found'],
      [await ask('/api/admins/1', { 'x-original-upgrade': 'websocket' }), 405, 'method_not_allowed'],
      [await ask('/', { 'x-original-uri': 'http://evil.test/api/orders/1' }), 400, 'invalid_request'],
      [await ask('/', { 'x-original-uri': '//evil.test/api/orders/1' }), 400, 'invalid_request'],
      [await ask('/api/orders/1', { 'x-csrf': '' }), 403, 'csrf_header_missing'],
    ] as const;
    for (const [response, status, code] of cases) {
      assert.equal(response.status, status, `${code}: ${response.body}`);
      assert.equal(JSON.parse(response.body).error, code);
      assert.equal(response.headers['x-gatehouse-error'], code);
      assert.equal(response.headers.authorization, undefined);
    }
  });
});

describe('gateway configuration', () => {
  const base = (gateway: object, session: object = {}) => ({
    publicUrl: 'https://app.example.com',
    oidc: { issuer: 'https://login.example.com', clientId: 'bff', clientSecret: 'secret' },
    session: { secrets: ['s'.repeat(40)], ...session },
    routes: [{ path: '/orders', upstream: 'http://orders.internal' }],
    gateway: { enabled: true, ...gateway },
  });

  it('defaults to a loopback listener of its own, answers reusable for 5 s', () => {
    const { gateway } = parseConfig(base({}));
    assert.deepEqual(gateway, { enabled: true, host: '127.0.0.1', port: 9091, cacheTtl: 5000 });
  });

  it('refuses a reachable listener without a secret, a short secret, cookie sessions and a shared port', () => {
    assert.deepEqual(problemsOf(base({ host: '0.0.0.0' })), [
      'gateway.secret: is required when gateway.host is not a loopback address',
    ]);
    assert.match(problemsOf(base({ secret: 'short' })).join('\n'), /^gateway\.secret: /);
    assert.match(problemsOf(base({}, { store: 'cookie' })).join('\n'), /^gateway\.enabled: needs server-side sessions/);
    assert.deepEqual(problemsOf(base({ port: 9090 })), ['gateway.port: must differ from server.port and admin.port']);
    assert.equal(parseConfig(base({ host: '10.0.0.5', secret: SECRET })).gateway.host, '10.0.0.5');
  });
});
