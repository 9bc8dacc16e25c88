/**
 * `gatehouse start --workers N`: several processes sharing the port, one session store, one refresh
 * per session between them, the workers' metrics added up by the primary, a dead worker replaced,
 * and a clean drain on SIGTERM.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { stringify } from 'yaml';
import { startDemoIdp, type DemoIdp } from '../../../examples/demo/src/idp.js';
import { TestBrowser } from './support/browser.js';
import { rawRequest } from './support/raw-http.js';
import { REDIS_URL, redisUnavailable, testPrefix } from './support/redis.js';
import { freePort, signIn, testClient } from './support/stack.js';
import { startUpstream, type TestUpstream } from './support/upstream.js';

const BIN = new URL('../bin/gatehouse.js', import.meta.url).pathname;
const skip = await redisUnavailable();

describe('gatehouse start --workers 2', { skip }, () => {
  let idp: DemoIdp;
  let upstream: TestUpstream;
  let child: ChildProcess;
  let app: string;
  let admin: string;
  let output = '';
  const lines = () =>
    output
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l));

  before(async () => {
    const [port, adminPort] = [await freePort(), await freePort()];
    app = `http://127.0.0.1:${port}`;
    admin = `http://127.0.0.1:${adminPort}`;
    const clientSecret = randomBytes(24).toString('base64url');
    idp = await startDemoIdp({
      publicHost: 'localhost',
      clients: [testClient(app, clientSecret)],
      accessTokenTtlSeconds: 2,
      rotateRefreshTokens: true,
    });
    upstream = await startUpstream();
    const config = {
      publicUrl: app,
      server: { host: '127.0.0.1', port },
      admin: { port: adminPort },
      log: { level: 'info' },
      oidc: {
        issuer: idp.issuer,
        clientId: testClient(app, clientSecret).clientId,
        clientSecret,
        allowInsecureHttp: true,
        refreshSkew: '0s',
        scopes: ['openid', 'profile', 'offline_access', 'orders:read'],
      },
      session: {
        store: 'redis',
        secrets: [randomBytes(32).toString('base64url')],
        redis: { url: REDIS_URL, keyPrefix: testPrefix() },
      },
      rateLimit: { store: 'redis' },
      routes: [{ path: '/orders', upstream: `${upstream.url}/orders` }],
    };
    child = spawn(process.execPath, [BIN, 'start', '--workers', '2'], {
      env: { ...process.env, GATEHOUSE_CONFIG: stringify(config) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout!.on('data', (chunk) => (output += chunk));
    child.stderr!.on('data', (chunk) => (output += chunk));
    await new Promise<void>((resolve, reject) => {
      child.stdout!.on('data', () => output.includes('"workers":2') && resolve());
      child.on('exit', (code) => reject(new Error(`exited with ${code}: ${output}`)));
    });
  });
  after(async () => {
    child?.kill('SIGKILL');
    await Promise.all([idp?.close(), upstream?.close()]);
  });

  it('serves one session from both workers, refreshing it once between them', async () => {
    const browser = new TestBrowser();
    await signIn(browser, { app, idp });
    await sleep(2_200); // the access token has expired: the next calls all need a refresh
    const responses = await Promise.all(Array.from({ length: 40 }, (_, i) => browser.api(`${app}/api/orders/${i}`)));
    assert.deepEqual(
      responses.map((r) => r.status),
      Array(40).fill(200),
    );
    assert.equal(idp.grants.filter((g) => g.grantType === 'refresh_token').length, 1, 'one refresh grant');
    const pids = new Set(
      lines()
        .filter((l) => l.req?.path?.startsWith('/api/orders/'))
        .map((l) => l.pid),
    );
    assert.equal(pids.size, 2, 'both workers served calls of the session');
  });

  it('serves the sum of the workers’ metrics on the primary’s admin listener', async () => {
    const text = await (await fetch(`${admin}/metrics`)).text();
    const line = text
      .split('\n')
      .find((l) => l.startsWith('gatehouse_http_requests_total{') && l.includes('route="/api/orders/*"'));
    assert.ok(line, text.slice(0, 500));
    assert.equal(Number(line.split(' ').at(-1)), 40);
    assert.equal((await fetch(`${admin}/readyz`)).status, 200);
  });

  it('replaces a worker that dies, and keeps serving meanwhile', async () => {
    const browser = new TestBrowser();
    await signIn(browser, { app, idp });
    const workerPids = [
      ...new Set(
        lines()
          .filter((l) => l.req)
          .map((l) => l.pid as number),
      ),
    ];
    process.kill(workerPids[0]!, 'SIGKILL');
    // Connections that the dead worker held are reset (a client retries those); new ones are served.
    await sleep(300);
    for (let i = 0; i < 10; i++) assert.equal((await browser.api(`${app}/api/orders/x${i}`)).status, 200);
    for (let tries = 0; !output.includes('worker exited; starting another'); tries++) {
      assert.ok(tries < 50, 'the primary noticed');
      await sleep(100);
    }
    await sleep(2_000); // the replacement starts
    const before = new Set(
      lines()
        .filter((l) => l.req)
        .map((l) => l.pid),
    );
    // New connections (a browser's keep-alive one stays with the worker it has).
    const cookie = await browser.jar.getCookieString(app);
    for (let i = 0; i < 20; i++) {
      const response = await rawRequest(app, `/api/orders/y${i}`, { headers: { cookie, 'x-csrf': '1' } });
      assert.equal(response.status, 200);
    }
    const after = new Set(
      lines()
        .filter((l) => l.req)
        .map((l) => l.pid),
    );
    assert.ok(after.size > before.size, 'a new worker serves requests');
  });

  it('drains and exits 0 on SIGTERM, workers included', async () => {
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
    child.kill('SIGTERM');
    assert.equal(await exited, 0, output.split('\n').slice(-8).join('\n'));
    await assert.rejects(fetch(`${app}/api/auth/user`));
  });
});

describe('gatehouse start --workers', () => {
  it('refuses the memory store, whose sessions one worker could not see in another', () => {
    const result = spawnSync(process.execPath, [BIN, 'start', '--workers', '2'], {
      encoding: 'utf8',
      env: {
        ...process.env,
        GATEHOUSE_CONFIG: stringify({
          publicUrl: 'http://127.0.0.1:1',
          oidc: {
            issuer: 'http://127.0.0.1:9',
            clientId: 'bff',
            clientSecret: 'x'.repeat(16),
            allowInsecureHttp: true,
          },
          session: { secrets: ['s'.repeat(32)] },
        }),
      },
    });
    assert.equal(result.status, 1);
    assert.match(result.stderr, /--workers needs sessions every worker can see/);
  });

  it('refuses a count that is not a number', () => {
    const result = spawnSync(process.execPath, [BIN, 'start', '--workers', 'many'], {
      encoding: 'utf8',
      env: { ...process.env, GATEHOUSE_CONFIG: '{}' },
    });
    assert.equal(result.status, 2);
  });
});
