/**
 * The Cloudflare example (examples/cloudflare) as docs/deploy-cloudflare.md tells a team to deploy
 * it: wrangler.toml binds what the code reads, its configuration loads on the Workers runtime with
 * the vars it declares, and the entry, bundled as wrangler bundles it, serves the SPA from static
 * assets and refuses an anonymous API call in Miniflare.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { loadRuntimeConfig } from '../src/config/runtimes.js';
import { freePort } from './support/stack.js';
import { SPA_INDEX, spaBuild } from './support/spa-build.js';
import { startWorker, type RunningWorker } from './support/workerd.js';

const EXAMPLE = new URL('../../../examples/cloudflare/', import.meta.url);
const read = (name: string) => readFileSync(new URL(name, EXAMPLE), 'utf8');
const wrangler = read('wrangler.toml').replace(/#.*$/gm, '');

/** The [vars] table, plus the secrets the file says to put. */
function environment(): Record<string, string> {
  const table = /^\[vars\]\n([\s\S]*?)(?:^\[|$(?![\s\S]))/m.exec(wrangler)![1]!;
  const vars = Object.fromEntries([...table.matchAll(/^(\w+)\s*=\s*"([^"]*)"/gm)].map(([, k, v]) => [k!, v!]));
  return {
    ...vars,
    OIDC_CLIENT_SECRET: 'from-wrangler-secret',
    GATEHOUSE_SESSION_SECRET: randomBytes(32).toString('base64url'),
  };
}

describe('the Cloudflare example', () => {
  it('binds in wrangler.toml what Gatehouse reads, with the settings the guide explains', () => {
    assert.match(wrangler, /^main = "worker\.ts"$/m);
    assert.match(wrangler, /compatibility_flags = \["nodejs_compat"\]/);
    assert.match(wrangler, /\[assets\][^[]*binding = "ASSETS"[^[]*run_worker_first = true/);
    assert.match(
      wrangler,
      /\[\[durable_objects\.bindings\]\]\nname = "GATEHOUSE_SESSIONS"\nclass_name = "GatehouseSessions"/,
    );
    assert.match(wrangler, /new_sqlite_classes = \["GatehouseSessions"\]/);
    assert.match(read('worker.ts'), /export \{ GatehouseSessions \}/);
  });

  it('has a configuration the Workers runtime accepts, every ${NAME} declared', () => {
    const config = loadRuntimeConfig(read('gatehouse.yaml'), 'cloudflare', environment());
    assert.equal(config.session.store, 'durable-object');
    assert.equal(config.oidc.clientSecret, 'from-wrangler-secret');
    assert.equal(config.routes[0]!.upstream, 'https://orders.example.com/v1');
  });

  describe('bundled and run as wrangler would', () => {
    let worker: RunningWorker;
    before(async () => {
      worker = await startWorker({
        port: await freePort(),
        peerPort: await freePort(),
        entry: fileURLToPath(new URL('worker.ts', EXAMPLE)),
        vars: environment(),
        assets: spaBuild(),
      });
    });
    after(() => worker?.stop());

    it('serves the SPA with its security headers and answers an anonymous API call with 401 JSON', async () => {
      const page = await fetch(`${worker.url}/orders/7`, { headers: { accept: 'text/html' } });
      assert.equal(page.status, 200);
      assert.equal(await page.text(), SPA_INDEX);
      assert.match(page.headers.get('content-security-policy') ?? '', /default-src 'self'/);
      const user = await fetch(`${worker.url}/api/auth/user`);
      assert.equal(user.status, 401);
      assert.equal(((await user.json()) as { error: string }).error, 'unauthenticated');
    });
  });
});
