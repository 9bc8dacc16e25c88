/**
 * One configuration document for every runtime: on Cloudflare Workers and AWS Lambda a key that
 * cannot work there is refused by its own path with what to use instead, all problems at once;
 * a document without such keys loads everywhere, with the store each runtime has.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError, parseConfig } from '../src/config/load.js';
import { loadRuntimeConfig, runtimeProblems } from '../src/config/runtimes.js';

const SECRET = 's'.repeat(40);
const portable = (store: string) => ({
  publicUrl: 'https://app.example.com',
  oidc: { issuer: 'https://login.example.com', clientId: 'bff', clientSecret: '${CLIENT_SECRET}' },
  session: { store, secrets: [SECRET], ...(store === 'redis' ? { redis: { url: 'rediss://cache:6379' } } : {}) },
  routes: [{ path: '/orders', upstream: 'https://orders.example.com/v1' }],
});

/** Everything the Node server can do that a fetch runtime cannot. */
const nodeOnly = {
  ...portable('redis'),
  server: { port: 8080, trustProxy: 1 },
  admin: { port: 9090 },
  gateway: { enabled: true },
  tracing: { endpoint: 'http://otel:4318/v1/traces' },
  static: { root: './dist', precompressed: true },
  extensions: ['./dashboard.js'],
  routes: [
    { path: '/orders', upstream: 'https://orders.example.com/v1', caFile: './ca.pem' },
    { path: '/live', upstream: 'wss://live.example.com', websocket: true },
  ],
  upstreams: { profile: { url: 'https://profile.example.com', caFile: './ca.pem' } },
  oidc: {
    ...portable('redis').oidc,
    clientAuth: 'private_key_jwt',
    signingKeys: [{ file: './key.pem' }],
    tls: { certFile: './client.pem', keyFile: './client.key' },
    senderConstraint: 'dpop',
  },
};

/** What neither fetch runtime has: a listener of its own, files to load code from, WebSockets. */
const NO_LISTENER = [
  'server.port',
  'server.trustProxy',
  'admin',
  'gateway',
  'tracing',
  'static.root',
  'static.precompressed',
  'routes[1].websocket',
  'extensions',
];

const paths = (problems: string[]) => problems.map((problem) => problem.split(':', 1)[0]);

describe('configuration per runtime', () => {
  it('refuses on Cloudflare Workers every key that cannot work there, each by its path, with what to use', () => {
    const problems = runtimeProblems(nodeOnly, 'cloudflare');
    assert.deepEqual(paths(problems), [
      ...NO_LISTENER,
      'oidc.signingKeys[0].file',
      'oidc.tls',
      'routes[0].caFile',
      'upstreams.profile.caFile',
      'oidc.senderConstraint',
      'session.redis',
      'session.store',
    ]);
    assert.ok(problems.every((problem) => problem.includes('not on Cloudflare Workers') || problem.includes('choose')));
    assert.match(problems.at(-1)!, /"durable-object" or "cookie"/);
  });

  it('refuses on AWS Lambda only what Lambda lacks: files and client certificates work there', () => {
    const problems = runtimeProblems(nodeOnly, 'lambda');
    assert.deepEqual(paths(problems), NO_LISTENER);
    assert.deepEqual(paths(runtimeProblems({ ...portable('memory') }, 'lambda')), ['session.store']);
    assert.deepEqual(paths(runtimeProblems({ ...portable('durable-object') }, 'lambda')), ['session.store']);
  });

  it('keeps Durable Objects to Workers and makes fetch runtimes name their store', () => {
    assert.throws(
      () => parseConfig(portable('durable-object')),
      (error: ConfigError) =>
        error.problems[0]!.startsWith('session.store: "durable-object" is for Cloudflare Workers'),
    );
    const { store: _store, ...unnamed } = portable('cookie').session;
    assert.deepEqual(paths(runtimeProblems({ ...portable('cookie'), session: unnamed }, 'cloudflare')), [
      'session.store',
    ]);
  });

  it('loads the same portable document on each runtime, ${NAME}s from the runtime’s environment', () => {
    const env = { CLIENT_SECRET: 'from-the-platform', UNRELATED: 42 };
    for (const [runtime, store] of [
      ['cloudflare', 'durable-object'],
      ['cloudflare', 'cookie'],
      ['lambda', 'redis'],
      ['lambda', 'cookie'],
    ] as const) {
      const config = loadRuntimeConfig(JSON.stringify(portable(store)), runtime, env);
      assert.equal(config.session.store, store);
      assert.equal(config.oidc.clientSecret, 'from-the-platform');
    }
    assert.equal(
      parseConfig({ ...portable('redis'), oidc: { ...portable('redis').oidc, clientSecret: 'x' } }).session.store,
      'redis',
    );
  });

  it('reports every problem at once, naming the source', () => {
    assert.throws(
      () => loadRuntimeConfig(JSON.stringify(nodeOnly), 'cloudflare', { CLIENT_SECRET: 'x' }),
      (error: ConfigError) => error.problems.length === 16 && error.message.startsWith('Invalid GATEHOUSE_CONFIG'),
    );
  });
});
