/**
 * What Gatehouse refuses to trust about its provider and upstreams: discovery metadata whose issuer
 * is not the configured one, ID tokens signed with another algorithm than the configured one, and
 * upstreams whose TLS certificate does not verify.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { TestBrowser } from './support/browser.js';
import { signIn, startStack } from './support/stack.js';

describe('trusting the provider', () => {
  it('refuses discovery metadata whose issuer differs from the configured one (mix-up defence)', async () => {
    // The provider calls itself http://localhost:<port>; configure the same server as 127.0.0.1.
    const stack = await startStack({
      gatehouse: (d) => ({ ...d, oidc: { ...d.oidc, issuer: d.oidc.issuer.replace('localhost', '127.0.0.1') } }),
    });
    try {
      const login = await new TestBrowser().request(`${stack.app}/api/auth/login`, {
        navigate: true,
        headers: { accept: 'application/json' },
      });
      assert.equal(login.status, 503);
      assert.equal(JSON.parse(login.body).error, 'idp_unavailable');
      assert.equal((await fetch(`${stack.admin}/readyz`)).status, 503);
    } finally {
      await stack.close();
    }
  });

  it('refuses an ID token signed with an algorithm other than the configured one', async () => {
    const stack = await startStack({ gatehouse: (d) => ({ ...d, oidc: { ...d.oidc, idTokenSigningAlg: 'ES256' } }) });
    try {
      const browser = new TestBrowser();
      const callback = await signIn(browser, stack);
      assert.equal(callback.status, 400);
      assert.match(callback.body, /login_failed/);
      assert.ok(!callback.headers.getSetCookie().some((c) => /^__Host-gatehouse=[^;]/.test(c)), 'no session');
    } finally {
      await stack.close();
    }
  });
});

describe('trusting upstreams', () => {
  it('sends no token to an upstream whose certificate does not verify, and answers 502', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gatehouse-tls-'));
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-days',
        '1',
        '-subj',
        '/CN=127.0.0.1',
        '-keyout',
        join(dir, 'key.pem'),
        '-out',
        join(dir, 'cert.pem'),
      ],
      { stdio: 'ignore' },
    );
    const seen: unknown[] = [];
    const upstream = createServer(
      { key: readFileSync(join(dir, 'key.pem')), cert: readFileSync(join(dir, 'cert.pem')) },
      (req, res) => {
        seen.push(req.headers);
        res.end('{}');
      },
    );
    await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
    const { port } = upstream.address() as AddressInfo;
    const stack = await startStack({
      gatehouse: (d) => ({ ...d, routes: [{ path: '/secure', upstream: `https://127.0.0.1:${port}/v1` }] }),
    });
    try {
      const browser = new TestBrowser();
      await signIn(browser, stack);
      const response = await browser.api(`${stack.app}/api/secure/x`);
      assert.equal(response.status, 502);
      assert.equal(JSON.parse(response.body).error, 'upstream_unavailable');
      assert.deepEqual(seen, [], 'the request (and its token) never reached the server');
    } finally {
      await stack.close();
      upstream.close();
    }
  });
});
