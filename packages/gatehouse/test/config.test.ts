/**
 * Configuration: strict validation with key paths, ${ENV} substitution, secret masking, the CLI's
 * exit codes, and the docs kept in sync with the schema and error registry.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { stringify } from 'yaml';
import { ConfigError, loadConfigFile, parseConfig } from '../src/config/load.js';
import { configurationReference, errorReference } from '../src/docs-reference.js';
import { problemsOf } from './support/config.js';
import { startUpstream } from './support/upstream.js';

const BIN = new URL('../bin/gatehouse.js', import.meta.url).pathname;
const SECRET = 's'.repeat(40);
const valid = () => ({
  publicUrl: 'https://app.example.com',
  oidc: { issuer: 'https://login.example.com', clientId: 'bff', clientSecret: 'client-secret-value' },
  session: { secrets: [SECRET] },
  routes: [{ path: '/orders', upstream: 'http://orders.internal:8080/v1/orders' }],
});

function tempFile(name: string, content: string): string {
  const file = join(mkdtempSync(join(tmpdir(), 'gatehouse-')), name);
  writeFileSync(file, content);
  return file;
}

describe('configuration', () => {
  it('applies the secure defaults and freezes the result', () => {
    const config = parseConfig(valid());
    assert.equal(config.session.cookieName, '__Host-gatehouse');
    assert.equal(config.session.idleTimeout, 30 * 60_000);
    assert.equal(config.session.absoluteTimeout, 8 * 3_600_000);
    assert.equal(config.oidc.clientAuth, 'client_secret_basic');
    assert.equal(config.oidc.redirectUri, 'https://app.example.com/api/auth/callback');
    assert.equal(config.oidc.postLogoutRedirectUri, 'https://app.example.com/');
    assert.equal(config.oidc.allowInsecureHttp, false);
    assert.deepEqual(config.routes[0]!.methods, ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE']);
    assert.ok(Object.isFrozen(config) && Object.isFrozen(config.oidc) && Object.isFrozen(config.routes[0]));
  });

  it('names every bad key path and what was expected, all at once', () => {
    const input = valid() as Record<string, unknown>;
    input.sesion = {};
    (input.oidc as Record<string, unknown>).clientId = 42;
    delete (input.oidc as Record<string, unknown>).issuer;
    input.session = { secrets: ['short'], idleTimeout: 'soon' };
    input.routes = [{ path: 'orders', upstream: 'ftp://x', extra: true }];
    const problems = problemsOf(input);
    const expected = [
      'sesion: unknown key',
      'oidc.issuer: is required',
      'oidc.clientId: expected string, received number',
      'session.secrets[0]: expected a secret of at least 32 characters',
      'session.idleTimeout: expected a duration',
      'routes[0].path: expected a path',
      'routes[0].upstream: expected an http(s) URL',
      'routes[0].extra: unknown key',
    ];
    for (const line of expected)
      assert.ok(
        problems.some((p) => p.startsWith(line)),
        `missing "${line}" in\n${problems.join('\n')}`,
      );
  });

  it('refuses loosenings that need an explicit option, and cross-field mistakes', () => {
    const base = valid();
    assert.ok(
      problemsOf({ ...base, oidc: { ...base.oidc, issuer: 'http://login.example.com' } }).some((p) =>
        p.startsWith('oidc.issuer: expected https'),
      ),
    );
    assert.ok(
      problemsOf({ ...base, publicUrl: 'http://app.example.com' }).some((p) =>
        p.startsWith('publicUrl: expected https'),
      ),
    );
    assert.ok(
      problemsOf({ ...base, publicUrl: 'https://app.example.com/app' }).some((p) =>
        p.startsWith('publicUrl: expected an origin'),
      ),
    );
    assert.ok(
      problemsOf({ ...base, session: { secrets: [SECRET], cookieName: 'session' } }).some((p) =>
        p.startsWith('session.cookieName'),
      ),
    );
    assert.ok(
      problemsOf({ ...base, oidc: { ...base.oidc, authorizationParams: { state: 'x' } } }).some((p) =>
        p.startsWith('oidc.authorizationParams.state'),
      ),
    );
    assert.ok(
      problemsOf({ ...base, routes: [{ path: '/auth', upstream: 'http://x' }] }).some((p) =>
        p.startsWith('routes[0].path'),
      ),
    );
    assert.ok(
      problemsOf({ ...base, routes: [{ path: '/a', upstream: 'http://x', requireSession: false }] }).some((p) =>
        p.startsWith('routes[0].requireSession'),
      ),
    );
    assert.ok(
      problemsOf({ ...base, routes: [{ path: '/a', upstream: 'http://x', methods: ['TRACE'] }] }).some((p) =>
        p.startsWith('routes[0].methods[0]'),
      ),
    );
    const previous = process.env.NODE_ENV;
    process.env.NODE_ENV = 'production';
    try {
      assert.ok(
        problemsOf({ ...base, oidc: { ...base.oidc, allowInsecureHttp: true } }).some((p) =>
          p.startsWith('oidc.allowInsecureHttp'),
        ),
      );
    } finally {
      process.env.NODE_ENV = previous;
    }
  });

  it('substitutes ${ENV} in YAML and JSON files and reports unset variables by key', () => {
    const yaml = tempFile(
      'g.yaml',
      stringify({
        ...valid(),
        oidc: { ...valid().oidc, clientSecret: '${TEST_SECRET}' },
        server: { port: '${TEST_PORT}' },
      }),
    );
    const config = loadConfigFile(yaml, { TEST_SECRET: 'from-env', TEST_PORT: '8443' });
    assert.equal(config.oidc.clientSecret, 'from-env');
    assert.equal(config.server.port, 8443);
    const json = tempFile('g.json', JSON.stringify({ ...valid(), oidc: { ...valid().oidc, clientSecret: 'a$${b}' } }));
    assert.equal(loadConfigFile(json, {}).oidc.clientSecret, 'a${b}');
    assert.throws(
      () => loadConfigFile(yaml, {}),
      (e: unknown) =>
        e instanceof ConfigError &&
        e.problems.includes('oidc.clientSecret: environment variable TEST_SECRET is not set'),
    );
  });

  it('reports unreadable and unparsable files clearly', () => {
    assert.throws(() => loadConfigFile('/nonexistent/gatehouse.yaml'), /cannot read/);
    assert.throws(() => loadConfigFile(tempFile('bad.json', '{ nope')), /not valid JSON/);
    assert.throws(() => loadConfigFile(tempFile('bad.yaml', 'a: [1, 2')), /not valid YAML/);
  });
});

describe('gatehouse CLI', () => {
  const run = (...args: string[]) =>
    spawnSync(process.execPath, [BIN, ...args], {
      encoding: 'utf8',
      env: { ...process.env, CLIENT_SECRET: 'super-secret-client-value' },
    });

  it('check prints the effective configuration with secrets masked', () => {
    const file = tempFile(
      'ok.yaml',
      stringify({ ...valid(), oidc: { ...valid().oidc, clientSecret: '${CLIENT_SECRET}' } }),
    );
    const result = run('check', '--config', file);
    assert.equal(result.status, 0, result.stderr);
    const printed = JSON.parse(result.stdout);
    assert.equal(printed.oidc.clientSecret, '********');
    assert.deepEqual(printed.session.secrets, ['********']);
    assert.equal(printed.oidc.clientId, 'bff');
    assert.doesNotMatch(result.stdout, /super-secret-client-value|sssssssss/);
  });

  it('exits non-zero with the bad key named for an invalid configuration', () => {
    const file = tempFile('bad.yaml', stringify({ ...valid(), sessoin: {} }));
    for (const command of ['check', 'start']) {
      const result = run(command, '--config', file);
      assert.equal(result.status, 1);
      assert.match(result.stderr, /sessoin: unknown key/);
      assert.equal(result.stdout, '');
    }
  });

  it('reads the configuration from GATEHOUSE_CONFIG (the document) or GATEHOUSE_CONFIG_FILE (a path)', () => {
    const document = stringify({ ...valid(), oidc: { ...valid().oidc, clientSecret: '${CLIENT_SECRET}' } });
    const fromEnv = (env: Record<string, string | undefined>) =>
      spawnSync(process.execPath, [BIN, 'check'], {
        encoding: 'utf8',
        env: { ...process.env, CLIENT_SECRET: 'super-secret-client-value', ...env },
      });
    for (const env of [
      { GATEHOUSE_CONFIG: document },
      { GATEHOUSE_CONFIG: JSON.stringify({ ...valid(), oidc: { ...valid().oidc, clientSecret: '${CLIENT_SECRET}' } }) },
      { GATEHOUSE_CONFIG_FILE: tempFile('env.yaml', document) },
    ]) {
      const result = fromEnv(env);
      assert.equal(result.status, 0, result.stderr);
      assert.equal(JSON.parse(result.stdout).oidc.clientSecret, '********');
      assert.doesNotMatch(result.stdout, /super-secret-client-value/);
    }
    const bad = fromEnv({ GATEHOUSE_CONFIG: stringify({ ...valid(), sessoin: {} }) });
    assert.equal(bad.status, 1);
    assert.match(bad.stderr, /GATEHOUSE_CONFIG/);
    assert.match(bad.stderr, /sessoin: unknown key/);
  });

  it('answers bad usage with exit code 2', () => {
    assert.equal(run().status, 2);
    assert.equal(run('start').status, 2);
    assert.equal(run('launch', '--config', 'x').status, 2);
    assert.equal(run('--help').status, 0);
  });

  it('on SIGTERM stops accepting, finishes the request in flight, and exits 0', async () => {
    const upstream = await startUpstream();
    upstream.handle(async (_req, res) => {
      await new Promise((r) => setTimeout(r, 800));
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end('finished');
    });
    const file = tempFile(
      'drain.yaml',
      stringify({
        ...valid(),
        publicUrl: 'http://127.0.0.1',
        server: { host: '127.0.0.1', port: 0 },
        admin: { port: 0 },
        log: { level: 'info' },
        routes: [{ path: '/slow', upstream: upstream.url, token: 'none', requireSession: false }],
      }),
    );
    const child = spawn(process.execPath, [BIN, 'start', '--config', file], { stdio: ['ignore', 'pipe', 'pipe'] });
    try {
      const url = await listening(child);
      const inFlight = fetch(`${url}/api/slow/x`, { headers: { 'x-csrf': '1' } });
      while (upstream.received.length === 0) await new Promise((r) => setTimeout(r, 10));
      child.kill('SIGTERM');
      const exited = new Promise((resolve) => child.on('exit', resolve));
      await new Promise((r) => setTimeout(r, 200));
      await assert.rejects(fetch(`${url}/api/slow/y`, { headers: { 'x-csrf': '1' } }), 'no new connections');
      const response = await inFlight;
      assert.equal(response.status, 200);
      assert.equal(await response.text(), 'finished');
      assert.equal(await exited, 0);
    } finally {
      child.kill('SIGKILL');
      await upstream.close();
    }
  });

  it('starts, serves, and exits 0 on SIGTERM', async () => {
    const file = tempFile(
      'run.yaml',
      stringify({ ...valid(), server: { host: '127.0.0.1', port: 0 }, admin: { port: 0 }, log: { level: 'info' } }),
    );
    const child = spawn(process.execPath, [BIN, 'start', '--config', file], { stdio: ['ignore', 'pipe', 'pipe'] });
    const url = await listening(child);
    const response = await fetch(`${url}/api/auth/user`, { headers: { 'x-csrf': '1' } });
    assert.equal(response.status, 401);
    child.kill('SIGTERM');
    const code = await new Promise((resolve) => child.on('exit', resolve));
    assert.equal(code, 0);
  });
});

/** Resolves with the URL a `gatehouse start` child process listens on. */
function listening(child: ChildProcessWithoutNullStreams | ChildProcess): Promise<string> {
  let output = '';
  return new Promise<string>((resolve, reject) => {
    child.stdout!.on('data', (chunk) => {
      output += chunk;
      const match = /"url":"(http:\/\/[^"]+)"/.exec(output);
      if (match) resolve(match[1]!);
    });
    child.on('exit', (code) => reject(new Error(`exited early with ${code}: ${output}`)));
  });
}

describe('docs', () => {
  const docs = (name: string) => readFileSync(new URL(`../../../docs/${name}`, import.meta.url), 'utf8');
  it('docs/configuration.md documents every key with its default (run `npm run docs` to update)', () => {
    assert.ok(docs('configuration.md').includes(configurationReference()));
  });
  it('docs/errors.md lists exactly the error codes (run `npm run docs` to update)', () => {
    assert.ok(docs('errors.md').includes(errorReference()));
  });
});
