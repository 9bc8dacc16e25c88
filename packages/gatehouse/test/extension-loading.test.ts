/**
 * Extensions named in the configuration: loaded relative to the configuration file, served like any
 * endpoint, and every way they can be wrong reported at startup (library and CLI) with its place.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ConfigError, createGatehouse, defineExtension, loadConfigFile, parseConfig } from '../src/index.js';

const BIN = new URL('../bin/gatehouse.js', import.meta.url).pathname;

function configDir(files: Record<string, string>, extensions: string[], extra = ''): string {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-ext-'));
  for (const [name, content] of Object.entries(files)) writeFileSync(join(dir, name), content);
  writeFileSync(
    join(dir, 'gatehouse.yaml'),
    `publicUrl: http://127.0.0.1:8080
server: { host: 127.0.0.1, port: 0 }
admin: { enabled: false }
log: { level: silent }
oidc: { issuer: "http://127.0.0.1:9", clientId: bff, clientSecret: s, allowInsecureHttp: true }
session: { secrets: ["${'x'.repeat(32)}"] }
routes: [{ path: /orders, upstream: "http://127.0.0.1:9/orders" }]
upstreams: { orders: { url: "http://127.0.0.1:9/orders" } }
extensions: ${JSON.stringify(extensions)}
${extra}`,
  );
  return join(dir, 'gatehouse.yaml');
}

async function problemsOf(promise: Promise<unknown>): Promise<readonly string[]> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof ConfigError, String(error));
    return error.problems;
  }
  assert.fail('expected a ConfigError');
}

const HELLO = `export default {
  name: 'hello',
  endpoints: [{ path: '/hello', session: 'optional', handler: ({ user }) => ({ hello: user ? user.sub : 'stranger' }) }],
};`;

describe('extensions from the configuration', () => {
  it('loads a module next to the configuration file and serves its endpoints', async () => {
    const file = configDir({ 'hello.mjs': HELLO }, ['./hello.mjs']);
    const gatehouse = await createGatehouse(loadConfigFile(file));
    try {
      const { url } = await gatehouse.listen();
      const response = await fetch(`${url}/api/hello`, { headers: { 'x-csrf': '1' } });
      assert.equal(response.status, 200);
      assert.equal(response.headers.get('cache-control'), 'no-store');
      assert.deepEqual(await response.json(), { hello: 'stranger' });
      // The anti-forgery header is needed here as on every API call.
      assert.equal((await fetch(`${url}/api/hello`)).status, 403);
    } finally {
      await gatehouse.close();
    }
  });

  it('reports every problem at startup, each with the extension it is in', async () => {
    const file = configDir(
      {
        'no-default.mjs': 'export const hello = 1;',
        'shape.mjs': `export default { name: 'shape', upstreams: ['orders', 'billing'], extra: 1, endpoints: [
          { path: 'dashboard', handler: 42 },
          { path: '/x', session: 'optional', authorize: { roles: ['admin'] }, handler() {} },
          { path: '/orders/summary', handler() {} },
          { path: '/auth/me', handler() {} },
          { path: '/v', views: { mobile: { name: { from: 'a', limit: -1 } } }, handler() {} },
        ] };`,
        'hello.mjs': HELLO,
        'hello-again.mjs': HELLO.replace("name: 'hello'", "name: 'again'"),
      },
      ['./missing.mjs', './no-default.mjs', './shape.mjs', './hello.mjs', './hello-again.mjs'],
    );
    const problems = await problemsOf(createGatehouse(loadConfigFile(file)));
    const expected = [
      /^extensions\[0\] \(.*missing\.mjs\): cannot be loaded: Cannot find module/,
      /^extensions\[1\] \(.*no-default\.mjs\): has no default export/,
      /^extensions\[2\] \(.*shape\.mjs\): extra: unknown key$/,
      /^extensions\[2\] .*: endpoints\[0\]\.path: expected a path such as "\/dashboard"/,
      /^extensions\[2\] .*: endpoints\[0\]\.handler: expected a function$/,
      /^extensions\[2\] .*: endpoints\[1\]\.authorize: authorize rules need a signed-in user/,
      /^extensions\[2\] .*: endpoints\[4\]\.views\.mobile\.name/,
      /^again: GET \/hello is already served by hello$/,
    ];
    for (const pattern of expected)
      assert.ok(
        problems.some((p) => pattern.test(p)),
        `${pattern}\n${problems.join('\n')}`,
      );
  });

  it('checks where endpoints go and which upstreams they use', async () => {
    const file = configDir(
      {
        'placed.mjs': `export default { name: 'placed', upstreams: ['orders', 'billing'], endpoints: [
          { path: '/orders/summary', handler() {} },
          { path: '/auth/me', handler() {} },
        ] };`,
      },
      ['./placed.mjs'],
    );
    assert.deepEqual(await problemsOf(createGatehouse(loadConfigFile(file))), [
      `extensions[0] (${file.replace('gatehouse.yaml', 'placed.mjs')}): uses upstream "billing", which is not configured under upstreams`,
      `extensions[0] (${file.replace('gatehouse.yaml', 'placed.mjs')}): endpoints[0].path: "/orders/summary" is inside the proxied route "/orders"`,
      `extensions[0] (${file.replace('gatehouse.yaml', 'placed.mjs')}): endpoints[1].path: "/auth" is reserved for Gatehouse's own endpoints`,
    ]);
  });

  it('applies the same checks to extensions given through the library API', async () => {
    const file = configDir({}, []);
    const broken = defineExtension({
      name: 'lib',
      upstreams: ['nope'],
      endpoints: [{ path: '/ok', handler: () => 1 }],
    });
    assert.deepEqual(await problemsOf(createGatehouse(loadConfigFile(file), { extensions: [broken] })), [
      'options.extensions[0]: uses upstream "nope", which is not configured under upstreams',
    ]);
  });

  it('makes `gatehouse check` and `gatehouse start` fail with the problem, not a stack trace', () => {
    const file = configDir({}, ['./missing.mjs']);
    for (const command of ['check', 'start']) {
      const result = spawnSync(process.execPath, [BIN, command, '--config', file], {
        encoding: 'utf8',
        timeout: 20_000,
      });
      assert.equal(result.status, 1, command);
      assert.match(result.stderr, /Invalid extensions:\n {2}- extensions\[0\] \(.*missing\.mjs\): cannot be loaded/);
      assert.doesNotMatch(result.stderr, /\n\s+at /, 'no stack trace');
    }
  });

  it('refuses a route that asks for authorize rules without a session', () => {
    const input = {
      publicUrl: 'https://app.example.com',
      oidc: { issuer: 'https://login.example.com', clientId: 'bff', clientSecret: 's' },
      session: { secrets: ['x'.repeat(32)] },
      routes: [
        { path: '/feed', upstream: 'https://feed.internal/', token: 'none', requireSession: false, authorize: {} },
      ],
    } as const;
    assert.throws(
      () => parseConfig(input),
      (error: unknown) =>
        error instanceof ConfigError &&
        error.problems.includes('routes[0].requireSession: a route with authorize rules needs a session'),
    );
    const { requireSession: _, ...withDefault } = input.routes[0];
    assert.equal(parseConfig({ ...input, routes: [withDefault] }).routes[0]!.requireSession, true);
  });
});
