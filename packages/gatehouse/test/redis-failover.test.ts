/**
 * Two Gatehouse processes sharing Redis. The one holding a session's refresh lock is killed
 * (SIGKILL) in the middle of the refresh: the other one must still refresh that session, once,
 * rather than wait on the dead holder forever.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { startDemoIdp, type DemoIdp } from '../../../examples/demo/src/idp.js';
import { TestBrowser } from './support/browser.js';
import { REDIS_URL, redisUnavailable, testPrefix } from './support/redis.js';
import { freePort, signIn, testClient } from './support/stack.js';
import { startUpstream, type TestUpstream } from './support/upstream.js';

const skip = await redisUnavailable();
const BIN = new URL('../bin/gatehouse.js', import.meta.url).pathname;

/** Starts `gatehouse start` as its own process and resolves once it listens. */
async function startProcess(config: object): Promise<ChildProcess> {
  const file = join(mkdtempSync(join(tmpdir(), 'gatehouse-')), 'gatehouse.json');
  writeFileSync(file, JSON.stringify(config));
  const child = spawn(process.execPath, [BIN, 'start', '--config', file], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (chunk) => (output += chunk));
  child.stderr!.on('data', (chunk) => (output += chunk));
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', () => output.includes('gatehouse listening') && resolve());
    child.once('exit', (code) => reject(new Error(`gatehouse exited with ${code}: ${output}`)));
  });
  return child;
}

describe('refresh lock holder dies mid-refresh', { skip }, () => {
  let idp: DemoIdp;
  let upstream: TestUpstream;
  const children: ChildProcess[] = [];
  let a: string;
  let b: string;

  before(async () => {
    const [portA, portB] = [await freePort(), await freePort()];
    a = `http://127.0.0.1:${portA}`;
    b = `http://127.0.0.1:${portB}`;
    const clientSecret = randomBytes(24).toString('base64url');
    upstream = await startUpstream();
    idp = await startDemoIdp({
      publicHost: 'localhost',
      accessTokenTtlSeconds: 2,
      clients: [testClient(a, clientSecret)],
    });
    const keyPrefix = testPrefix();
    const config = (port: number) => ({
      publicUrl: a, // one public origin, as behind a load balancer
      server: { host: '127.0.0.1', port },
      admin: { enabled: false },
      log: { level: 'info' },
      oidc: {
        issuer: idp.issuer,
        clientId: 'gatehouse-test',
        clientSecret,
        allowInsecureHttp: true,
        timeout: '2s',
        refreshSkew: '0s',
      },
      session: { store: 'redis', secrets: ['s'.repeat(40)], redis: { url: REDIS_URL, keyPrefix } },
      routes: [{ path: '/orders', upstream: `${upstream.url}/orders` }],
    });
    children.push(await startProcess(config(portA)), await startProcess(config(portB)));
  });

  after(async () => {
    for (const child of children) child.kill('SIGKILL');
    await Promise.all([idp.close(), upstream.close()]);
  });

  it('refreshes the session on the surviving instance, once', async () => {
    const browser = new TestBrowser();
    await signIn(browser, { app: a, idp });
    assert.equal((await browser.api(`${b}/api/orders`, { balancedAs: a })).status, 200);
    await sleep(2200); // the access token has expired

    idp.faults.delayMs = 60_000; // the provider holds A's refresh request...
    const onA = browser.api(`${a}/api/orders`).catch((error: Error) => error);
    while (idp.faults.delayed === 0) await sleep(20);
    children[0]!.kill('SIGKILL'); // ...while A dies holding the lock
    assert.ok((await onA) instanceof Error, 'A died mid-request');
    idp.faults.delayMs = 0;

    const refreshes = () => idp.grants.filter((g) => g.grantType === 'refresh_token');
    const started = Date.now();
    const onB = await browser.api(`${b}/api/orders`, { balancedAs: a });
    assert.equal(onB.status, 200, "B refreshed once the dead holder's lock expired");
    assert.ok(Date.now() - started < 10_000, 'within the lock lifetime, not forever');
    assert.deepEqual(
      refreshes().map((g) => g.ok),
      [true],
      "one successful refresh grant; the dead holder's request never reached the provider",
    );
  });
});
