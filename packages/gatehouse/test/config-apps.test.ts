/**
 * The configuration of several apps (`apps`) and providers (`oidc.providers`): what each inherits,
 * and every way two of them could be confused refused at boot, by key path.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { loadConfigFile, parseConfig } from '../src/config/load.js';
import { loadRuntimeConfig } from '../src/config/runtimes.js';
import { problemsOf } from './support/config.js';

const SECRET = 's'.repeat(40);
const base = {
  publicUrl: 'https://shop.example.com',
  oidc: {
    issuer: 'https://login.example.com',
    clientId: 'shop',
    clientSecret: 'shop-secret',
    scopes: ['openid', 'email'],
    providers: { partner: { issuer: 'https://partner.example.org', clientId: 'shop', clientSecret: 'p-secret' } },
  },
  session: { secrets: [SECRET], store: 'redis', redis: { url: 'rediss://cache:6379', keyPrefix: 'gh:' } },
  routes: [{ path: '/orders', upstream: 'https://orders.internal' }],
};
const withApps = (apps: Record<string, unknown>, top: Record<string, unknown> = {}) => ({ ...base, ...top, apps });

describe('oidc.providers', () => {
  it('inherits every oidc key but the registration itself (issuer, clientId, clientSecret)', () => {
    const config = parseConfig(base);
    assert.deepEqual(
      config.providers.map((p) => p.name),
      ['default', 'partner'],
    );
    const partner = config.providers[1]!;
    assert.equal(partner.issuer, 'https://partner.example.org');
    assert.equal(partner.clientSecret, 'p-secret');
    assert.deepEqual(partner.scopes, ['openid', 'email'], 'inherited');
    assert.equal(partner.redirectUri, 'https://shop.example.com/api/auth/callback', 'one callback for all');
    assert.equal(config.oidc, config.providers[0]);
  });

  it('refuses a provider without its own registration, a reused issuer, a reserved or bad name', () => {
    assert.deepEqual(
      problemsOf({
        ...base,
        oidc: {
          ...base.oidc,
          providers: {
            bare: {},
            twin: { issuer: 'https://login.example.com/', clientId: 'x', clientSecret: 'y' },
          },
        },
      }),
      [
        'oidc.providers.bare.issuer: is required (expected string)',
        'oidc.providers.bare.clientId: is required (expected string)',
      ],
    );
    assert.deepEqual(
      problemsOf({
        ...base,
        oidc: {
          ...base.oidc,
          providers: { twin: { issuer: 'https://login.example.com/', clientId: 'x', clientSecret: 'y' } },
        },
      }),
      ['oidc.providers.twin.issuer: the issuer of provider "default" already; each provider needs its own'],
    );
    assert.match(
      problemsOf({ ...base, oidc: { ...base.oidc, providers: { default: {} } } })[0]!,
      /^oidc\.providers\.default: "default" names/,
    );
    assert.match(
      problemsOf({ ...base, oidc: { ...base.oidc, providers: { 'Bad Name': {} } } })[0]!,
      /^oidc\.providers\.Bad Name: expected a name/,
    );
    assert.deepEqual(
      problemsOf({
        ...base,
        oidc: { ...base.oidc, providers: { partner: { ...base.oidc.providers.partner, providers: {} } } },
      }),
      ['oidc.providers.partner.providers: providers do not nest'],
    );
  });

  it("checks each provider's own rules under its own name", () => {
    const problems = problemsOf({
      ...base,
      oidc: {
        ...base.oidc,
        providers: {
          partner: {
            issuer: 'http://partner.example.org',
            clientId: 'shop',
            clientAuth: 'private_key_jwt',
            authorizationParams: { state: 'x' },
          },
        },
      },
    });
    assert.deepEqual(problems, [
      'oidc.providers.partner.issuer: expected https (set oidc.allowInsecureHttp for local development only)',
      'oidc.providers.partner.authorizationParams.state: set by Gatehouse itself and cannot be configured',
      'oidc.providers.partner.signingKeys: at least one key is required with clientAuth "private_key_jwt"',
    ]);
  });
});

describe('apps', () => {
  it('inherits the top level (objects merged; lists, providers and upstreams whole), with sessions of its own', () => {
    const config = parseConfig(
      withApps({
        admin: { publicUrl: 'https://admin.example.com', oidc: { clientId: 'admin', clientSecret: 'a' }, routes: [] },
        help: { pathPrefix: '/help', session: { cookieName: '__Host-help' }, oidc: { providers: {} } },
      }),
    );
    assert.equal(config.app, 'main');
    const [admin, help] = config.apps;
    assert.equal(admin!.app, 'admin');
    assert.equal(admin!.oidc.clientId, 'admin');
    assert.equal(admin!.oidc.issuer, 'https://login.example.com', 'inherited');
    assert.deepEqual(admin!.routes, [], 'its own list, not added to the top level one');
    assert.deepEqual(
      admin!.providers.map((p) => p.name),
      ['default', 'partner'],
      'providers inherited when not set',
    );
    assert.equal(admin!.oidc.redirectUri, 'https://admin.example.com/api/auth/callback');
    assert.equal(admin!.session.redis!.keyPrefix, 'gh:admin/', 'records under a prefix of its own');
    assert.equal(config.session.redis!.keyPrefix, 'gh:', 'the main app keeps the prefix as configured');
    assert.equal(help!.basePath, '/help/api');
    assert.equal(help!.oidc.redirectUri, 'https://shop.example.com/help/api/auth/callback');
    assert.equal(help!.oidc.postLogoutRedirectUri, 'https://shop.example.com/help/');
    assert.equal(help!.routes.length, 1, 'routes inherited when not set');
    assert.deepEqual(
      help!.providers.map((p) => p.name),
      ['default'],
      'an empty providers map is taken whole',
    );
  });

  it('refuses apps that could not be told apart, or would share cookies or endpoints', () => {
    assert.deepEqual(problemsOf(withApps({ twin: {} })), [
      'apps.twin: answers the same host and path as app "main" (give it its own publicUrl host or a pathPrefix)',
    ]);
    assert.deepEqual(problemsOf(withApps({ help: { pathPrefix: '/help' } })), [
      'apps.help.session.cookieName: "__Host-gatehouse" is app "main"\'s, on the same host',
    ]);
    assert.deepEqual(problemsOf(withApps({ api: { pathPrefix: '/api', session: { cookieName: '__Host-x' } } })), [
      'apps.api.pathPrefix: would take app "main"\'s endpoints (/api)',
    ]);
    assert.deepEqual(
      problemsOf(
        withApps({
          a: { publicUrl: 'https://other.example.com' },
          b: { publicUrl: 'https://other.example.com' },
        }),
      ),
      ['apps.b: answers the same host and path as app "a" (give it its own publicUrl host or a pathPrefix)'],
    );
  });

  it('refuses process-wide keys, nesting, bad names, and gateway mode', () => {
    assert.deepEqual(
      problemsOf(
        withApps({ admin: { publicUrl: 'https://admin.example.com', server: { port: 1 }, log: {}, apps: {} } }),
      ),
      [
        'apps.admin.server: set once for the whole process, at the top level',
        'apps.admin.log: set once for the whole process, at the top level',
        'apps.admin.apps: set once for the whole process, at the top level',
      ],
    );
    assert.match(problemsOf(withApps({ main: {} }))[0]!, /^apps\.main: "main" names the app of the top level/);
    assert.match(problemsOf(withApps({ Admin: {} }))[0]!, /^apps\.Admin: expected a name/);
    assert.match(problemsOf(withApps({ x: { pathPrefix: 'help' } }))[0]!, /^apps\.x\.pathPrefix: expected a path/);
    assert.deepEqual(
      problemsOf(withApps({ admin: { publicUrl: 'https://admin.example.com' } }, { gateway: { enabled: true } })),
      ['gateway.enabled: gateway mode serves one app; run a Gatehouse for each app that needs it'],
    );
    assert.deepEqual(
      problemsOf(withApps({ admin: { publicUrl: 'https://admin.example.com', oidc: { clientId: '' } } })),
      ['apps.admin.oidc.clientId: Too small: expected string to have >=1 characters'],
    );
  });

  it('resolves file paths in apps and providers relative to the configuration file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'gatehouse-apps-'));
    const file = join(dir, 'gatehouse.json');
    writeFileSync(
      file,
      JSON.stringify(
        withApps({
          admin: { publicUrl: 'https://admin.example.com', static: { root: './admin-dist' }, extensions: [] },
        }),
      ),
    );
    const config = loadConfigFile(file, {});
    assert.equal(config.apps[0]!.static.root, join(dir, 'admin-dist'));
  });

  it('is refused on Workers and Lambda, where each app is its own deployment', () => {
    const document = JSON.stringify(
      withApps(
        { admin: { publicUrl: 'https://admin.example.com' } },
        { session: { secrets: [SECRET], store: 'cookie' } },
      ),
    );
    for (const runtime of ['cloudflare', 'lambda'] as const) {
      assert.throws(
        () => loadRuntimeConfig(document, runtime, {}),
        (error: { problems: string[] }) => error.problems.some((p) => p.startsWith('apps: not on')),
      );
    }
  });
});
