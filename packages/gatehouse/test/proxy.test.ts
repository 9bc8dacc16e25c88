/**
 * The proxy against real upstream servers: streaming both ways, header policy, method and path
 * allow-lists, and upstream failures mapped to JSON without internal detail.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { request } from 'undici';
import { TestBrowser } from './support/browser.js';
import { rawRequest } from './support/raw-http.js';
import { signIn, startStack, type Stack } from './support/stack.js';
import { echo, startUpstream, type TestUpstream } from './support/upstream.js';

const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

describe('proxy', () => {
  let stack: Stack;
  let slow: TestUpstream;
  let browser: TestBrowser;
  let cookie: string;

  before(async () => {
    slow = await startUpstream();
    stack = await startStack({
      gatehouse: (defaults) => ({
        ...defaults,
        routes: [
          ...defaults.routes!,
          {
            path: '/reports',
            upstream: `${defaults.routes![0]!.upstream.replace('/orders', '')}/reports`,
            methods: ['GET'],
          },
          { path: '/slow', upstream: slow.url, timeout: '300ms' },
          { path: '/gone', upstream: 'http://127.0.0.1:9' },
        ],
      }),
    });
    browser = new TestBrowser();
    await signIn(browser, stack);
    cookie = `__Host-gatehouse=${await browser.cookie(stack.app, '__Host-gatehouse')}`;
  });
  after(async () => {
    await stack.close();
    await slow.close();
  });

  /** A signed-in API call through undici. */
  const raw = (
    path: string,
    init: { method?: string; headers?: Record<string, string>; body?: string | Buffer } = {},
  ) =>
    request(`${stack.app}${path}`, {
      method: (init.method ?? 'GET') as 'GET',
      headers: { cookie, 'x-csrf': '1', ...init.headers },
      body: init.body,
    });
  /** The same, byte for byte: no path normalisation, any header. */
  const exact = (path: string, init: { method?: string; headers?: Record<string, string> } = {}) =>
    rawRequest(stack.app, path, { ...init, headers: { cookie, 'x-csrf': '1', ...init.headers } });

  it('streams server-sent events one by one, without buffering', { timeout: 5000 }, async () => {
    let releaseSecond!: () => void;
    const secondMayGo = new Promise<void>((resolve) => (releaseSecond = resolve));
    stack.upstream.handle(async (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write('data: first\n\n');
      await secondMayGo; // the upstream waits until the browser has seen the first event
      res.end('data: second\n\n');
    });
    try {
      const response = await raw('/api/orders/live', { headers: { accept: 'text/event-stream' } });
      assert.equal(response.statusCode, 200);
      assert.equal(response.headers['content-type'], 'text/event-stream');
      const chunks: string[] = [];
      for await (const chunk of response.body) {
        chunks.push(String(chunk));
        if (chunks.join('').includes('first')) releaseSecond();
      }
      assert.equal(chunks.join(''), 'data: first\n\ndata: second\n\n');
    } finally {
      stack.upstream.handle(echo);
    }
  });

  it('streams a 2 MiB upload to the upstream intact', async () => {
    const body = randomBytes(2 * 1024 * 1024);
    const response = await raw('/api/orders/upload', {
      method: 'PUT',
      headers: { 'content-type': 'application/octet-stream' },
      body,
    });
    assert.equal(response.statusCode, 200);
    await response.body.dump();
    const received = stack.upstream.received.at(-1)!;
    assert.equal(received.method, 'PUT');
    assert.equal(received.headers['content-length'], String(body.length));
    assert.equal(sha256(received.bytes), sha256(body), 'every byte arrived');
  });

  it('passes a JSON body through byte for byte', async () => {
    const json = '{"b":1,   "a":[2,3]}';
    const response = await raw('/api/orders', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: json,
    });
    assert.equal(response.statusCode, 200);
    assert.equal(JSON.parse(await response.body.text()).body, json, 'not re-encoded');
  });

  it('never forwards the browser credentials or forwarding headers, and drops hop-by-hop headers both ways', async () => {
    stack.upstream.handle((_req, res) => {
      res.writeHead(200, {
        'content-type': 'application/json',
        'set-cookie': '__Host-gatehouse=planted; Path=/; Secure',
        connection: 'x-internal',
        'x-internal': 'secret',
        'x-public': 'ok',
      });
      res.end('{}');
    });
    try {
      const response = await exact('/api/orders/1', {
        headers: {
          authorization: 'Bearer attacker',
          'x-forwarded-for': '10.9.9.9',
          'x-forwarded-host': 'evil.test',
          forwarded: 'for=10.9.9.9',
          'x-real-ip': '10.9.9.9',
          connection: 'x-drop-me',
          'x-drop-me': '1',
          'x-kept': 'yes',
        },
      });
      assert.equal(response.status, 200);
      assert.equal(response.headers['set-cookie'], undefined, 'upstreams cannot plant cookies');
      assert.equal(response.headers['x-internal'], undefined);
      assert.equal(response.headers['x-public'], 'ok');
      assert.equal(response.headers['cache-control'], 'no-store');
      const got = stack.upstream.received.at(-1)!.headers;
      assert.match(got.authorization!, /^Bearer ey/);
      assert.equal(got.cookie, undefined);
      assert.equal(got['x-forwarded-for'], '127.0.0.1');
      assert.equal(got['x-forwarded-host'], new URL(stack.app).host);
      assert.equal(got.forwarded, undefined);
      assert.equal(got['x-real-ip'], undefined);
      assert.equal(got['x-drop-me'], undefined);
      assert.equal(got['x-kept'], 'yes');
      assert.ok(got['x-request-id']);
    } finally {
      stack.upstream.handle(echo);
    }
  });

  it('refuses path tricks that could escape the route, forwarding nothing', async () => {
    const before = stack.upstream.received.length;
    for (const path of [
      '/api/orders/..',
      '/api/orders/../admin',
      '/api/orders/..%2fadmin',
      '/api/orders/%2e%2e/admin',
      '/api/orders/%2E%2E%2Fadmin',
      '/api/orders/.%2e/admin',
      '/api/orders/a/./b',
      '/api/orders//evil.test',
      '/api/orders/a%5cb',
      '/api/orders/%252e%252e/admin',
      '/api/orders/a%00b',
    ]) {
      const response = await exact(path);
      assert.equal(response.status, 400, path);
      assert.equal(JSON.parse(response.body).error, 'invalid_path');
    }
    assert.equal(stack.upstream.received.length, before);
  });

  it('keeps query strings on the configured upstream host', async () => {
    const response = await raw('/api/orders/search?url=https://evil.test&next=//evil.test');
    assert.equal(response.statusCode, 200);
    await response.body.dump();
    assert.equal(stack.upstream.received.at(-1)!.url, '/orders/search?url=https://evil.test&next=//evil.test');
  });

  it('answers methods a route does not allow with 405, and never proxies TRACE', async () => {
    const before = stack.upstream.received.length;
    const post = await raw('/api/reports/x', { method: 'POST', body: '{}' });
    assert.equal(post.statusCode, 405);
    assert.equal(post.headers.allow, 'GET');
    assert.equal(((await post.body.json()) as { error: string }).error, 'method_not_allowed');
    const trace = await exact('/api/orders', { method: 'TRACE' });
    assert.equal(trace.status, 405);
    assert.equal(stack.upstream.received.length, before);
  });

  it('maps an unreachable upstream to 502 and a slow one to 504, without internal detail', async () => {
    const gone = await raw('/api/gone/x');
    assert.equal(gone.statusCode, 502);
    const goneBody = await gone.body.text();
    assert.deepEqual(JSON.parse(goneBody), {
      error: 'upstream_unavailable',
      message: 'The service behind this API is unavailable.',
    });
    assert.doesNotMatch(goneBody, /127\.0\.0\.1|ECONNREFUSED|:9\b/);

    slow.handle(async (_req, res) => {
      await new Promise((r) => setTimeout(r, 2000));
      res.end('late');
    });
    const late = await raw('/api/slow/x');
    assert.equal(late.statusCode, 504);
    assert.equal(((await late.body.json()) as { error: string }).error, 'upstream_timeout');

    assert.equal((await browser.api(`${stack.app}/api/orders`)).status, 200, 'still healthy afterwards');
  });

  it('relays a large answer intact to a browser that reads slowly (backpressure both ways)', async () => {
    const big = randomBytes(8 * 1024 * 1024);
    slow.handle((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(big.length) });
      res.end(big);
    });
    const response = await raw('/api/slow/big');
    assert.equal(response.statusCode, 200);
    assert.equal(response.headers['content-length'], String(big.length));
    assert.equal(response.headers['x-content-type-options'], 'nosniff', 'Gatehouse headers come along');
    const chunks: Buffer[] = [];
    for await (const chunk of response.body) {
      chunks.push(chunk as Buffer);
      // A slow reader: Gatehouse must hold the upstream back rather than buffer 8 MiB.
      if (chunks.length % 16 === 0) await new Promise((resolve) => setTimeout(resolve, 5));
    }
    assert.equal(sha256(Buffer.concat(chunks)), sha256(big));
  });

  it("cuts the browser's answer short when the upstream breaks off mid-answer, and stays healthy", async () => {
    slow.handle((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': '10000' });
      res.write('{"partial":');
      setTimeout(() => res.socket?.destroy(), 50);
    });
    const response = await raw('/api/slow/partial');
    assert.equal(response.statusCode, 200, 'the headers were already on their way');
    await assert.rejects(response.body.text(), 'the browser sees a broken answer, not a complete one');
    assert.equal((await browser.api(`${stack.app}/api/orders`)).status, 200, 'still healthy afterwards');
  });

  it('lets upstream status codes and bodies through unchanged', async () => {
    stack.upstream.handle((_req, res) => {
      res.writeHead(404, { 'content-type': 'application/problem+json' });
      res.end('{"title":"no such order"}');
    });
    try {
      const response = await raw('/api/orders/999');
      assert.equal(response.statusCode, 404);
      assert.equal(await response.body.text(), '{"title":"no such order"}');
    } finally {
      stack.upstream.handle(echo);
    }
  });
});
