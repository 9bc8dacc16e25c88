/**
 * The Redis store against the deployments it must work with, each a real redis-server: ACL users
 * (ElastiCache RBAC, Redis 6+), TLS with a private CA, Redis Cluster (ElastiCache cluster mode) and
 * Sentinel.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { GatehouseConfigInput } from '../src/config/schema.js';
import { TestBrowser } from './support/browser.js';
import { baseRedisArgs, redisUnavailable, spawnRedis, stopRedis, tempDir, testPrefix } from './support/redis.js';
import { freePort, signIn, startStack } from './support/stack.js';

const skip = await redisUnavailable();
type RedisSettings = NonNullable<GatehouseConfigInput['session']>['redis'];

/** Signs in, refreshes across two instances, and ends the session by back-channel logout: the whole store surface. */
async function exerciseStore(redis: RedisSettings): Promise<void> {
  const stack = await startStack({
    idp: { accessTokenTtlSeconds: 2 },
    gatehouse: (d) => ({
      ...d,
      oidc: { ...d.oidc, refreshSkew: '0s' },
      session: { ...d.session!, store: 'redis', redis: { keyPrefix: testPrefix(), ...redis } },
    }),
  });
  try {
    const peer = await stack.peer();
    const browser = new TestBrowser();
    await signIn(browser, stack);
    assert.equal(
      (await browser.api(`${peer.url}/api/orders`, { balancedAs: stack.app })).status,
      200,
      'the other instance sees the session',
    );
    await sleep(2200);
    const responses = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        browser.api(`${i % 2 ? peer.url : stack.app}/api/orders`, { balancedAs: stack.app }),
      ),
    );
    assert.deepEqual(new Set(responses.map((r) => r.status)), new Set([200]));
    assert.equal(
      stack.idp.grants.filter((g) => g.grantType === 'refresh_token').length,
      1,
      'one refresh across instances',
    );
    const { sid } = JSON.parse((await browser.api(`${stack.app}/api/auth/user`)).body);
    await stack.idp.backchannelLogout('gatehouse-test', 'alice', sid);
    assert.equal(
      (await browser.api(`${peer.url}/api/auth/user`, { balancedAs: stack.app })).status,
      401,
      'the index found it',
    );
  } finally {
    await stack.close();
  }
}

describe('redis with an ACL user', { skip }, () => {
  let child: ChildProcess;
  let url: string;
  before(async () => {
    const port = await freePort();
    url = `redis://127.0.0.1:${port}`;
    child = await spawnRedis(
      [
        ...baseRedisArgs(port),
        '--user',
        'default',
        'off',
        '--user',
        'gatehouse',
        'on',
        '>s3cret-pw',
        '~*',
        '&*',
        '+@all',
      ],
      url,
      { username: 'gatehouse', password: 's3cret-pw' },
    );
  });
  after(() => stopRedis(child));

  it('works with username and password', async () => {
    await exerciseStore({ url, username: 'gatehouse', password: 's3cret-pw' });
  });

  it('reports a wrong password as not ready instead of crashing', async () => {
    const stack = await startStack({
      gatehouse: (d) => ({
        ...d,
        session: {
          ...d.session!,
          store: 'redis',
          redis: { url, username: 'gatehouse', password: 'wrong', connectTimeout: '500ms' },
        },
      }),
    });
    try {
      assert.equal((await fetch(`${stack.admin}/readyz`)).status, 503);
      const login = await new TestBrowser().request(`${stack.app}/api/auth/user`, {
        headers: { 'x-csrf': '1', cookie: `__Host-gatehouse=${'A'.repeat(43)}` },
      });
      assert.equal(login.status, 503);
      assert.equal(JSON.parse(login.body).error, 'session_store_unavailable');
    } finally {
      await stack.close();
    }
  });
});

describe('redis over TLS', { skip }, () => {
  let child: ChildProcess;
  let url: string;
  let ca: string;
  before(async () => {
    const dir = tempDir();
    ca = join(dir, 'ca.pem');
    const key = join(dir, 'server.key');
    const cert = join(dir, 'server.pem');
    const openssl = (...args: string[]) => execFileSync('openssl', args, { stdio: 'ignore' });
    openssl(
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-days',
      '1',
      '-subj',
      '/CN=Test CA',
      '-keyout',
      join(dir, 'ca.key'),
      '-out',
      ca,
    );
    openssl(
      'req',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-subj',
      '/CN=127.0.0.1',
      '-keyout',
      key,
      '-out',
      join(dir, 'server.csr'),
    );
    writeFileSync(join(dir, 'san.ext'), 'subjectAltName=IP:127.0.0.1\n');
    openssl(
      'x509',
      '-req',
      '-in',
      join(dir, 'server.csr'),
      '-CA',
      ca,
      '-CAkey',
      join(dir, 'ca.key'),
      '-CAcreateserial',
      '-days',
      '1',
      '-extfile',
      join(dir, 'san.ext'),
      '-out',
      cert,
    );
    const port = await freePort();
    url = `rediss://127.0.0.1:${port}`;
    child = await spawnRedis(
      [
        '--port',
        '0',
        '--tls-port',
        String(port),
        '--bind',
        '127.0.0.1',
        '--save',
        '',
        '--tls-cert-file',
        cert,
        '--tls-key-file',
        key,
        '--tls-ca-cert-file',
        ca,
        '--tls-auth-clients',
        'no',
      ],
      url,
      { tls: { ca: [readFileSync(ca)] } },
    );
  });
  after(() => stopRedis(child));

  it('works over rediss:// with the CA given', async () => {
    await exerciseStore({ url, tlsCaFile: ca });
  });

  it('refuses a server whose certificate it cannot verify', async () => {
    const stack = await startStack({
      gatehouse: (d) => ({ ...d, session: { ...d.session!, store: 'redis', redis: { url, connectTimeout: '500ms' } } }),
    });
    try {
      assert.equal((await fetch(`${stack.admin}/readyz`)).status, 503, 'an unverified certificate is not trusted');
    } finally {
      await stack.close();
    }
  });
});

describe('redis cluster', { skip }, () => {
  const children: ChildProcess[] = [];
  let nodes: string[];
  before(async () => {
    const dir = tempDir();
    const ports = [await freePort(), await freePort(), await freePort()];
    nodes = ports.map((p) => `127.0.0.1:${p}`);
    for (const port of ports) {
      children.push(
        await spawnRedis(
          [
            ...baseRedisArgs(port),
            '--cluster-enabled',
            'yes',
            // The bus port is port + 10000 unless named: that could land in the kernel's ephemeral
            // range, taken by some other connection (CI saw a node fail to start so). A picked one.
            '--cluster-port',
            String(await freePort()),
            '--cluster-config-file',
            join(dir, `nodes-${port}.conf`),
            '--dir',
            dir,
          ],
          `redis://127.0.0.1:${port}`,
        ),
      );
    }
    const created = spawnSync('redis-cli', ['--cluster', 'create', ...nodes, '--cluster-yes'], { encoding: 'utf8' });
    assert.equal(created.status, 0, created.stdout + created.stderr);
    for (let i = 0; i < 100; i++) {
      const info = spawnSync('redis-cli', ['-p', String(ports[0]), 'cluster', 'info'], { encoding: 'utf8' }).stdout;
      if (info.includes('cluster_state:ok')) return;
      await sleep(100);
    }
    throw new Error('cluster did not become ready');
  });
  after(async () => {
    await Promise.all(children.map(stopRedis));
  });

  it('works in cluster mode (keys of one session share a hash slot)', async () => {
    await exerciseStore({ mode: 'cluster', nodes });
  });
});

describe('redis sentinel', { skip }, () => {
  let master: ChildProcess;
  let sentinel: ChildProcess;
  let sentinelNode: string;
  before(async () => {
    const dir = tempDir();
    const [masterPort, sentinelPort] = [await freePort(), await freePort()];
    master = await spawnRedis(baseRedisArgs(masterPort), `redis://127.0.0.1:${masterPort}`);
    const conf = join(dir, 'sentinel.conf');
    writeFileSync(conf, `port ${sentinelPort}\nbind 127.0.0.1\nsentinel monitor primary 127.0.0.1 ${masterPort} 1\n`);
    sentinel = await spawnRedis([conf, '--sentinel'], `redis://127.0.0.1:${sentinelPort}`);
    sentinelNode = `127.0.0.1:${sentinelPort}`;
  });
  after(async () => {
    await stopRedis(sentinel);
    await stopRedis(master);
  });

  it('finds the master through Sentinel', async () => {
    await exerciseStore({ mode: 'sentinel', nodes: [sentinelNode], sentinelName: 'primary' });
  });
});
