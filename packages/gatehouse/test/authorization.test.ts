/**
 * Claim-based authorization on proxied routes (HTTP and WebSocket): scopes, roles and claim values
 * from the session, answered 401/403 JSON before the upstream sees anything.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { after, before, describe, it } from 'node:test';
import { UnsecuredJWT } from 'jose';
import WebSocket, { WebSocketServer } from 'ws';
import { parseConfig } from '../src/index.js';
import { Authorizer } from '../src/security/authorization.js';
import type { ActiveSession } from '../src/session/session-manager.js';
import { TestBrowser } from './support/browser.js';
import { signIn, startStack, type Stack } from './support/stack.js';

describe('authorize rules on proxied routes', () => {
  let stack: Stack;
  let sockets: WebSocketServer;
  const handshakes: string[] = [];

  before(async () => {
    sockets = new WebSocketServer({ port: 0, host: '127.0.0.1' });
    await once(sockets, 'listening');
    sockets.on('connection', (_socket, request) => handshakes.push(request.url!));
    const socketsUrl = `http://127.0.0.1:${(sockets.address() as { port: number }).port}`;
    stack = await startStack({
      idp: { extraClaims: { roles: ['support'], realm_access: { roles: ['auditor'] } } },
      gatehouse: (defaults) => {
        const upstream = new URL(defaults.routes![0]!.upstream).origin;
        const route = (path: string, authorize: object) => ({ path, upstream: `${upstream}${path}`, authorize });
        return {
          ...defaults,
          routes: [
            route('/orders', { scopes: ['orders:read'] }),
            route('/write', { scopes: ['orders:read', 'orders:write'] }),
            route('/support', { roles: ['admin', 'support'] }),
            route('/admin', { roles: ['admin'] }),
            route('/alice-only', { claims: { preferred_username: 'alice', email_verified: true } }),
            route('/auditors', { claims: { 'realm_access.roles': ['auditor', 'admin'] } }),
            { ...route('/feed', { roles: ['support'] }), token: 'user-or-client' as const },
            { path: '/live', upstream: socketsUrl, websocket: true, authorize: { roles: ['admin'] } },
          ],
        };
      },
    });
  });
  after(async () => {
    await stack.close();
    await new Promise((resolve) => sockets.close(resolve));
  });

  const reached = () => stack.upstream.received.length;

  it('lets a user through whose session satisfies the rules', async () => {
    const browser = new TestBrowser();
    await signIn(browser, stack);
    for (const path of ['/orders', '/support', '/alice-only', '/auditors', '/feed']) {
      assert.equal((await browser.api(`${stack.app}/api${path}/x`)).status, 200, path);
    }
  });

  it('answers 403 JSON to a user who does not, and never calls the upstream', async () => {
    const alice = new TestBrowser();
    await signIn(alice, stack);
    const bob = new TestBrowser();
    await signIn(bob, stack, { username: 'bob', password: 'bob' });
    const before = reached();
    for (const [browser, path] of [
      [alice, '/write'],
      [alice, '/admin'],
      [bob, '/alice-only'],
    ] as const) {
      const response = await browser.api(`${stack.app}/api${path}/x`, { method: 'POST', body: '{}' });
      assert.equal(response.status, 403, path);
      assert.deepEqual(JSON.parse(response.body), { error: 'forbidden', message: 'You are not allowed to do this.' });
    }
    assert.equal(reached(), before);
    // A refusal is not a sign-out: the session still works where it is allowed.
    assert.equal((await bob.api(`${stack.app}/api/orders/x`)).status, 200);
  });

  it('answers 401 without a session, even on a route that otherwise serves anonymous callers', async () => {
    const before = reached();
    for (const path of ['/orders', '/feed']) {
      const response = await new TestBrowser().api(`${stack.app}/api${path}/x`);
      assert.equal(response.status, 401, path);
      assert.equal(JSON.parse(response.body).error, 'unauthenticated');
    }
    assert.equal(reached(), before);
  });

  it('refuses a WebSocket handshake the rules do not allow', async () => {
    const browser = new TestBrowser();
    await signIn(browser, stack);
    const cookie = `__Host-gatehouse=${await browser.cookie(stack.app, '__Host-gatehouse')}`;
    const status = await new Promise<number | string>((resolve) => {
      const socket = new WebSocket(`${stack.app.replace('http', 'ws')}/api/live`, {
        headers: { cookie, origin: stack.app },
      });
      socket.once('open', () => resolve('open'));
      socket.once('unexpected-response', (_request, response) => resolve(response.statusCode!));
      socket.once('error', () => {});
    });
    assert.equal(status, 403);
    assert.deepEqual(handshakes, []);
  });
});

describe('Authorizer', () => {
  const config = (rolesClaim?: string) =>
    parseConfig({
      publicUrl: 'https://app.example.com',
      oidc: { issuer: 'https://login.example.com', clientId: 'bff', clientSecret: 's', rolesClaim },
      session: { secrets: ['x'.repeat(32)] },
    });
  const session = (claims: Record<string, unknown>, scope?: string): ActiveSession => ({
    key: 'k',
    data: {
      v: 1,
      iss: 'https://login.example.com',
      sub: 'alice',
      tokens: {
        accessToken: 'at',
        tokenType: 'Bearer',
        obtainedAt: 0,
        scope,
        idToken: new UnsecuredJWT({ sub: 'alice', aud: 'bff', nonce: 'n', ...claims }).encode(),
      },
      createdAt: 0,
      touchedAt: 0,
      expiresAt: 0,
      logoutKey: 'l',
    },
  });

  it('reads roles from a nested claim named by oidc.rolesClaim, and accepts a single string', () => {
    const nested = new Authorizer(config('realm_access.roles'));
    assert.deepEqual(nested.user(session({ realm_access: { roles: ['admin', 'ops'] } })).roles, ['admin', 'ops']);
    assert.equal(nested.check({ roles: ['ops'] }, session({ realm_access: { roles: ['ops'] } })).sub, 'alice');
    const namespaced = new Authorizer(config('https://example.com/roles'));
    assert.deepEqual(namespaced.user(session({ 'https://example.com/roles': 'admin' })).roles, ['admin']);
  });

  it('takes the granted scopes from the token response, else the requested ones (RFC 6749 §5.1)', () => {
    const authorizer = new Authorizer(config());
    assert.deepEqual(authorizer.user(session({}, 'openid orders:read')).scopes, ['openid', 'orders:read']);
    assert.deepEqual(authorizer.user(session({})).scopes, ['openid', 'profile', 'email', 'offline_access']);
    assert.throws(() => authorizer.check({ scopes: ['orders:write'] }, session({}, 'openid orders:read')), {
      code: 'forbidden',
      detail: 'scope orders:write not granted',
    });
  });

  it('matches claim values exactly (no type coercion) and leaves protocol claims out of the user', () => {
    const authorizer = new Authorizer(config());
    assert.throws(() => authorizer.check({ claims: { level: 3 } }, session({ level: '3' })), { code: 'forbidden' });
    assert.equal(authorizer.check({ claims: { level: [2, 3] } }, session({ level: 3 })).sub, 'alice');
    assert.equal(authorizer.user(session({})).claims.nonce, undefined);
    assert.throws(() => authorizer.check({}, undefined), { code: 'unauthenticated' });
  });
});
