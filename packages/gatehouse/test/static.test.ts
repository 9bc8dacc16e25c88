/**
 * Hosting the SPA build: deep links answer index.html, missing files and API paths never do,
 * hashed assets are cached for good while index.html is revalidated, precompressed files are
 * served to browsers that accept them, and conditional requests get 304. The same cases run on
 * the Node server (static.root) and on the Worker in workerd (static assets); compression and
 * conditional requests are the static server's own on Node, the platform's on Cloudflare.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import { request } from 'undici';
import { TestBrowser } from './support/browser.js';
import { rawRequest } from './support/raw-http.js';
import { SPA_INDEX, SPA_SCRIPT, spaBuild } from './support/spa-build.js';
import { redisUnavailable } from './support/redis.js';
import { startRuntimeStack, type RuntimeStack } from './support/runtimes.js';

const SCRIPT = '/assets/index-Dq4w1K-A.js';

const skipRedis = await redisUnavailable();

for (const runtime of ['node', 'workerd'] as const)
  describe(`SPA hosting on ${runtime}`, { skip: runtime === 'node' && skipRedis }, () => {
    let stack: RuntimeStack;
    before(async () => {
      stack = await startRuntimeStack(runtime, { spa: spaBuild() });
    });
    after(() => stack?.close());

    const get = (path: string, headers: Record<string, string> = {}) =>
      request(`${stack.app}${path}`, { headers }).then(async (r) => ({
        status: r.statusCode,
        headers: r.headers,
        body: Buffer.from(await r.body.arrayBuffer()),
      }));

    it('serves index.html at "/" and for deep links, revalidated on every use', async () => {
      const browser = new TestBrowser();
      for (const path of ['/', '/orders/42', '/orders/42?tab=items', '/settings/profile/']) {
        const page = await browser.navigate(`${stack.app}${path}`);
        assert.equal(page.status, 200, path);
        assert.equal(page.body, SPA_INDEX, path);
        assert.match(page.headers.get('content-type')!, /^text\/html/);
        assert.equal(page.headers.get('cache-control'), 'no-cache', path);
        assert.ok(page.headers.get('etag'), path);
      }
    });

    it('answers HEAD for a deep link like GET, without a body', async () => {
      const head = await request(`${stack.app}/orders/42`, { method: 'HEAD', headers: { accept: 'text/html' } });
      assert.equal(head.statusCode, 200);
      assert.equal(await head.body.text(), '');
    });

    it('gives a missing asset a real 404, never index.html', async () => {
      const browser = new TestBrowser();
      for (const path of ['/assets/nope.js', '/nope.css', '/orders/42.json', '/missing.html']) {
        const missing = await browser.navigate(`${stack.app}${path}`);
        assert.equal(missing.status, 404, path);
        assert.notEqual(missing.body, SPA_INDEX, path);
      }
      const script = await browser.api(`${stack.app}/assets/nope.js`);
      assert.equal(script.status, 404);
      assert.equal(JSON.parse(script.body).error, 'not_found');
    });

    it('never answers index.html under /api, whatever the request asks for', async () => {
      const browser = new TestBrowser();
      for (const path of ['/api', '/api/', '/api/unknown', '/api/orders-typo/1', '/api/auth/nope']) {
        const response = await browser.navigate(`${stack.app}${path}`);
        assert.notEqual(response.body, SPA_INDEX, path);
        assert.ok(response.status >= 400, `${path}: ${response.status}`);
        assert.match(response.headers.get('content-type') ?? '', /json|html/, path);
      }
    });

    it('does not answer index.html to requests that do not want HTML', async () => {
      const response = await get('/orders/42', { accept: 'application/json' });
      assert.equal(response.status, 404);
      assert.equal(JSON.parse(response.body.toString()).error, 'not_found');
    });

    it('caches hashed assets for a year (immutable) and everything else with revalidation', async () => {
      const script = await get(SCRIPT);
      assert.equal(script.status, 200);
      assert.equal(script.headers['cache-control'], 'public, max-age=31536000, immutable');
      assert.match(String(script.headers['content-type']), /javascript/);
      assert.equal(script.body.toString(), SPA_SCRIPT);

      const favicon = await get('/favicon.svg');
      assert.equal(favicon.status, 200);
      assert.equal(favicon.headers['cache-control'], 'no-cache');
      assert.equal((await get('/index.html')).headers['cache-control'], 'no-cache');
    });

    // Cloudflare compresses at its edge, not in the asset server: only the Node server's own.
    if (runtime === 'node')
      it('serves precompressed brotli or gzip to browsers that accept them', async () => {
        const br = await get(SCRIPT, { 'accept-encoding': 'gzip, deflate, br' });
        assert.equal(br.headers['content-encoding'], 'br');
        assert.match(String(br.headers.vary), /accept-encoding/i);
        assert.equal(brotliDecompressSync(br.body).toString(), SPA_SCRIPT);
        assert.equal(br.headers['cache-control'], 'public, max-age=31536000, immutable');
        assert.match(String(br.headers['content-type']), /javascript/, 'the type of the original file');

        const gzip = await get(SCRIPT, { 'accept-encoding': 'gzip' });
        assert.equal(gzip.headers['content-encoding'], 'gzip');
        assert.equal(gunzipSync(gzip.body).toString(), SPA_SCRIPT);

        const plain = await get(SCRIPT, { 'accept-encoding': 'identity' });
        assert.equal(plain.headers['content-encoding'], undefined);
        assert.equal(plain.body.toString(), SPA_SCRIPT);
      });

    it('answers conditional requests with 304', async () => {
      for (const path of [SCRIPT, '/', '/orders/7']) {
        const first = await get(path, { accept: 'text/html' });
        const etag = String(first.headers.etag);
        assert.ok(etag, path);
        const again = await get(path, { accept: 'text/html', 'if-none-match': etag });
        assert.equal(again.status, 304, path);
        assert.equal(again.body.length, 0, path);
        const changed = await get(path, { accept: 'text/html', 'if-none-match': '"something-else"' });
        assert.equal(changed.status, 200, path);
      }
    });

    it('puts the page security headers on static files too', async () => {
      const page = await get('/', { accept: 'text/html' });
      assert.match(String(page.headers['content-security-policy']), /default-src 'self'/);
      assert.equal(page.headers['x-content-type-options'], 'nosniff');
      assert.equal((await get(SCRIPT)).headers['x-content-type-options'], 'nosniff');
    });

    it('serves no dotfiles, no directory listings, and nothing outside its folder', async () => {
      for (const path of [
        '/.env',
        '/assets/',
        '/assets',
        '/../../etc/passwd',
        '/%2e%2e/%2e%2e/etc/passwd',
        '/assets/..%2f..%2f..%2fetc%2fpasswd',
        '/assets/%2e%2e/%2e%2e/package.json',
      ]) {
        const response = await rawRequest(stack.app, path, { headers: { accept: 'text/html' } });
        assert.ok(!response.body.includes('SECRET=') && !response.body.includes('root:'), path);
        if (response.status === 200) assert.equal(response.body, SPA_INDEX, `${path}: only the SPA page`);
        else assert.ok([400, 403, 404].includes(response.status), `${path}: ${response.status}`);
      }
      assert.equal((await rawRequest(stack.app, '/.env')).status, 404);
    });
  });
