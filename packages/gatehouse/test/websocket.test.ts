/**
 * WebSocket upgrades through Gatehouse to a real WebSocket upstream: Origin instead of the
 * anti-forgery header, the token on the upstream handshake (never the cookie), and connections
 * that end with their session.
 */
import assert from 'node:assert/strict';
import type { IncomingHttpHeaders } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import WebSocket, { WebSocketServer } from 'ws';
import { sessionKey, type StoreSessions } from '../src/session/store-sessions.js';
import { TestBrowser } from './support/browser.js';
import { signIn, startStack, type Stack } from './support/stack.js';

describe('websocket proxy', () => {
  let stack: Stack;
  let upstream: WebSocketServer;
  const handshakes: IncomingHttpHeaders[] = [];

  before(async () => {
    upstream = new WebSocketServer({ port: 0, host: '127.0.0.1' });
    upstream.on('connection', (socket, request) => {
      handshakes.push(request.headers);
      socket.on('message', (data) => socket.send(`echo:${data}`));
    });
    await new Promise((resolve) => upstream.once('listening', resolve));
    const port = (upstream.address() as { port: number }).port;
    stack = await startStack({
      gatehouse: (d) => ({
        ...d,
        session: { ...d.session!, websocketCheckInterval: '200ms' },
        routes: [...d.routes!, { path: '/live', upstream: `http://127.0.0.1:${port}/live`, websocket: true }],
      }),
    });
  });
  after(async () => {
    await stack.close();
    await new Promise((resolve) => upstream.close(resolve));
  });

  async function signedIn() {
    const browser = new TestBrowser();
    await signIn(browser, stack);
    const cookie = `__Host-gatehouse=${await browser.cookie(stack.app, '__Host-gatehouse')}`;
    return { browser, cookie };
  }

  /** Opens a WebSocket like a browser page would; resolves when open, rejects with the refusal status. */
  function connect(path: string, headers: Record<string, string>): Promise<WebSocket> {
    const socket = new WebSocket(`${stack.app.replace('http', 'ws')}${path}`, { headers });
    return new Promise((resolve, reject) => {
      socket.once('open', () => resolve(socket));
      socket.once('unexpected-response', (_req, res) => reject(new Error(String(res.statusCode))));
      socket.once('error', reject);
    });
  }
  const closed = (socket: WebSocket) => new Promise<void>((resolve) => socket.once('close', () => resolve()));

  it('joins a same-origin WebSocket to the upstream with the user token and without the cookie', async () => {
    const { cookie } = await signedIn();
    const socket = await connect('/api/live/feed?x=1', { cookie, origin: stack.app });
    const reply = new Promise((resolve) => socket.once('message', (data) => resolve(String(data))));
    socket.send('hello');
    assert.equal(await reply, 'echo:hello');
    const handshake = handshakes.at(-1)!;
    assert.match(handshake.authorization!, /^Bearer ey/);
    assert.equal(handshake.cookie, undefined);
    socket.close();
  });

  it('refuses handshakes from other origins, without an Origin, or without a session', async () => {
    const { cookie } = await signedIn();
    const before = handshakes.length;
    const cases: [Record<string, string>, string][] = [
      [{ cookie, origin: 'https://evil.test' }, '403'],
      [{ cookie, origin: 'null' }, '403'],
      [{ cookie }, '403'],
      [{ cookie, origin: stack.app, 'sec-fetch-site': 'cross-site' }, '403'],
      [{ origin: stack.app }, '401'],
      [{ cookie: `__Host-gatehouse=${'A'.repeat(43)}`, origin: stack.app }, '401'],
    ];
    for (const [headers, status] of cases) {
      await assert.rejects(connect('/api/live', headers), new RegExp(`^Error: ${status}$`), JSON.stringify(headers));
    }
    await assert.rejects(connect('/api/orders', { cookie, origin: stack.app }), /404/, 'route without websocket');
    await assert.rejects(connect('/api/live/../orders', { cookie, origin: stack.app }), /400|404/);
    assert.equal(handshakes.length, before, 'the upstream saw none of them');
  });

  it('closes the connection when the user signs out', async () => {
    const { browser, cookie } = await signedIn();
    const socket = await connect('/api/live', { cookie, origin: stack.app });
    const done = closed(socket);
    await browser.api(`${stack.app}/api/auth/logout`, { method: 'POST' });
    await done;
  });

  it('closes the connection when the session ends elsewhere (back-channel logout)', async () => {
    const { browser, cookie } = await signedIn();
    const socket = await connect('/api/live', { cookie, origin: stack.app });
    const done = closed(socket);
    const { sid } = JSON.parse((await browser.api(`${stack.app}/api/auth/user`)).body);
    await stack.idp.backchannelLogout('gatehouse-test', 'alice', sid);
    await done;
  });

  it('closes the connection within the check interval when the session vanishes from the store', async () => {
    const { cookie } = await signedIn();
    const socket = await connect('/api/live', { cookie, origin: stack.app });
    const done = closed(socket);
    // As if another instance ended it: remove it from the store directly, behind this instance's back.
    const { store } = stack.gatehouse.services.sessions as StoreSessions;
    await store.delete(sessionKey(cookie.split('=')[1]!));
    const started = Date.now();
    await done;
    assert.ok(Date.now() - started < 2000);
    await sleep(10);
  });
});
