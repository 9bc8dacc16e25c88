/**
 * A token per API, against the real provider with resource indicators (RFC 8707) and a token
 * exchange grant (RFC 8693) registered on it, and APIs that each accept their own audience only:
 * every API gets a token meant for it alone, each obtained once per expiry however many calls need
 * it (on one instance or two sharing Redis), a refused exchange is a clear 403 and never the broad
 * token, and logout forgets and revokes them all.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { decodeJwt } from 'jose';
import type { GatehouseConfigInput } from '../src/config/schema.js';
import { TestBrowser } from './support/browser.js';
import { dumpRedis, REDIS_URL, redisUnavailable, testPrefix } from './support/redis.js';
import { CLIENT_ID, introspect, signIn, startStack, type Stack } from './support/stack.js';
import { startVerifyingUpstream, type VerifyingUpstream } from './support/verifying-upstream.js';

const skipRedis = await redisUnavailable();
const TOKEN_TTL_S = 2;

/** Three APIs by resource indicator, one by token exchange, one whose exchange the provider refuses. */
const API = {
  orders: { resource: 'https://orders.example', scope: 'orders:read' },
  billing: { resource: 'https://billing.example', scope: 'billing:read' },
  profile: { resource: 'https://profile.example', scope: 'profile:read' },
} as const;
const REPORTS = { audience: 'reports-api', scope: 'reports:read' };
/** Microsoft Entra ID's on-behalf-of: the API named by its scope. */
const OBO = { grant: 'on-behalf-of' as const, scope: 'api://ledger/.default' };

interface Apis {
  byName: Record<keyof typeof API | 'reports' | 'secret' | 'ledger', VerifyingUpstream>;
  close(): Promise<void>;
}

async function startApis(): Promise<Apis> {
  const names = ['orders', 'billing', 'profile', 'reports', 'secret', 'ledger'] as const;
  const started = await Promise.all(names.map(() => startVerifyingUpstream({ mode: 'bearer' })));
  return {
    byName: Object.fromEntries(names.map((name, i) => [name, started[i]!])) as Apis['byName'],
    close: async () => void (await Promise.all(started.map((api) => api.close()))),
  };
}

async function perApiStack(apis: Apis, session?: Partial<GatehouseConfigInput['session']>): Promise<Stack> {
  const { byName } = apis;
  const stack = await startStack({
    idp: {
      accessTokenTtlSeconds: TOKEN_TTL_S,
      resources: Object.fromEntries(Object.values(API).map((api) => [api.resource, api.scope])),
      tokenExchange: {
        audiences: { [REPORTS.audience]: REPORTS.scope, 'api://ledger': OBO.scope },
        ttlSeconds: TOKEN_TTL_S,
      },
    },
    gatehouse: (d) => ({
      ...d,
      oidc: { ...d.oidc, refreshSkew: '0s' },
      session: { ...d.session, ...session },
      routes: [
        ...Object.entries(API).map(([name, api]) => ({
          path: `/${name}`,
          upstream: `${byName[name as keyof typeof API].url}/${name}`,
          ...api,
        })),
        { path: '/reports', upstream: `${byName.reports.url}/reports`, token: { exchange: REPORTS } },
        {
          path: '/delegated',
          upstream: `${byName.reports.url}/delegated`,
          token: { exchange: { ...REPORTS, actor: true } },
        },
        { path: '/ledger', upstream: `${byName.ledger.url}/ledger`, token: { exchange: OBO } },
        { path: '/secret', upstream: `${byName.secret.url}/secret`, token: { exchange: { audience: 'secret-api' } } },
      ],
    }),
  });
  for (const [name, api] of Object.entries(API)) {
    byName[name as keyof typeof API].trust({ issuer: stack.idp.issuer, audience: api.resource });
  }
  byName.reports.trust({ issuer: stack.idp.issuer, audience: REPORTS.audience });
  byName.secret.trust({ issuer: stack.idp.issuer, audience: 'secret-api' });
  byName.ledger.trust({ issuer: stack.idp.issuer, audience: 'api://ledger' });
  return stack;
}

const grantsOf = (stack: Stack, type: string) => stack.idp.grants.filter((g) => g.grantType === type && g.ok);

describe('a token per API', () => {
  let apis: Apis;
  let stack: Stack;
  before(async () => {
    apis = await startApis();
    stack = await perApiStack(apis);
  });
  after(async () => {
    await stack.close();
    await apis.close();
  });

  it('asks for every API at sign-in, and gives each API a token for it alone', async () => {
    const browser = new TestBrowser();
    const login = await browser.request(`${stack.app}/api/auth/login`, { navigate: true });
    const authorize = new URL(login.headers.get('location')!);
    assert.deepEqual(
      authorize.searchParams.getAll('resource'),
      Object.values(API).map((api) => api.resource),
    );
    for (const api of Object.values(API))
      assert.ok(authorize.searchParams.get('scope')!.split(' ').includes(api.scope));

    await signIn(browser, stack);
    const seen = new Set<string>();
    for (const name of [...Object.keys(API), 'reports'] as const) {
      const response = await browser.api(`${stack.app}/api/${name}/1`);
      assert.equal(response.status, 200, `${name}: ${response.body}`);
      const verdict = apis.byName[name as keyof Apis['byName']].verdicts.at(-1)!;
      assert.equal(verdict.ok, true, `${name}: ${verdict.reason}`);
      seen.add(JSON.stringify(verdict.aud));
    }
    assert.equal(seen.size, 4, 'four audiences, one per API');
    for (const [name, api] of Object.entries(apis.byName)) {
      for (const verdict of api.verdicts)
        assert.equal(verdict.ok, true, `${name} received a token for another audience`);
    }
    const reports = apis.byName.reports.verdicts.at(-1)!;
    assert.equal(reports.scope, REPORTS.scope);
  });

  it('exchanges once and reuses the exchanged token until it nearly expires', async () => {
    const browser = new TestBrowser();
    await signIn(browser, stack);
    const before = grantsOf(stack, 'urn:ietf:params:oauth:grant-type:token-exchange').length;
    for (let i = 0; i < 5; i++) assert.equal((await browser.api(`${stack.app}/api/reports/${i}`)).status, 200);
    assert.equal(grantsOf(stack, 'urn:ietf:params:oauth:grant-type:token-exchange').length, before + 1);
  });

  it('exchanges on behalf of the user the way Entra ID does, and names Gatehouse as the actor when asked', async () => {
    const browser = new TestBrowser();
    await signIn(browser, stack);
    assert.equal((await browser.api(`${stack.app}/api/ledger/1`)).status, 200);
    const ledger = apis.byName.ledger.verdicts.at(-1)!;
    assert.deepEqual([ledger.ok, ledger.aud, ledger.scope], [true, 'api://ledger', OBO.scope]);
    const grants = stack.idp.grants.filter((g) => g.grantType === 'urn:ietf:params:oauth:grant-type:jwt-bearer');
    assert.equal(grants.length, 1);

    assert.equal((await browser.api(`${stack.app}/api/delegated/1`)).status, 200);
    const delegated = apis.byName.reports.verdicts.at(-1)!;
    assert.deepEqual([delegated.ok, delegated.act], [true, { sub: CLIENT_ID }]);
  });

  it('answers 403 token_refused when the provider refuses an exchange, calls nothing, and keeps the session', async () => {
    const browser = new TestBrowser();
    await signIn(browser, stack);
    const refused = await browser.api(`${stack.app}/api/secret/1`);
    assert.equal(refused.status, 403);
    assert.equal(JSON.parse(refused.body).error, 'token_refused');
    assert.equal(apis.byName.secret.verdicts.length, 0, 'the API was never called');
    assert.equal((await browser.api(`${stack.app}/api/orders/1`)).status, 200, 'the session lives on');
  });

  it('after expiry, a storm of 50 calls over three APIs costs exactly one grant per API', async () => {
    const browser = new TestBrowser();
    await signIn(browser, stack);
    for (const name of Object.keys(API)) assert.equal((await browser.api(`${stack.app}/api/${name}/warm`)).status, 200);
    await sleep(TOKEN_TTL_S * 1000 + 200);
    const before = grantsOf(stack, 'refresh_token').length;
    const names = Object.keys(API);
    const responses = await Promise.all(
      Array.from({ length: 50 }, (_, i) => browser.api(`${stack.app}/api/${names[i % 3]}/${i}`)),
    );
    assert.deepEqual(
      responses.map((r) => r.status),
      Array(50).fill(200),
    );
    const grants = grantsOf(stack, 'refresh_token').slice(before);
    assert.equal(grants.length, 3, 'one refresh per API');
    const audiences = grants.map((g) => decodeJwt(g.tokens[0]!).aud).sort();
    assert.deepEqual(
      audiences,
      Object.values(API)
        .map((api) => api.resource)
        .sort(),
    );
  });

  it('forgets every token at logout, and revokes the refresh token they came from', async () => {
    const browser = new TestBrowser();
    await signIn(browser, stack);
    for (const name of [...Object.keys(API), 'reports']) await browser.api(`${stack.app}/api/${name}/1`);
    const { sessions } = stack.gatehouse.services;
    const [key] = (await sessions.find({ iss: stack.idp.issuer, sub: 'alice' })).slice(-1);
    const data = (await sessions.read(key!))!;
    assert.equal(Object.keys(data.derived ?? {}).length, 4, 'three resource tokens and an exchanged one');
    assert.equal((await browser.api(`${stack.app}/api/auth/logout`, { method: 'POST' })).status, 200);
    assert.equal(await sessions.read(key!), undefined, 'forgotten with the session');
    // The access tokens are JWTs, which oidc-provider cannot revoke (they die at their expiry); the
    // refresh token, revoked, can make no new ones.
    assert.equal((await introspect(stack, data.tokens.refreshToken!)).active, false);
    assert.equal((await browser.api(`${stack.app}/api/orders/1`)).status, 401);
  });
});

describe('a token per API, two instances sharing Redis', { skip: skipRedis }, () => {
  it("obtains each API's token once across both instances", async () => {
    const apis = await startApis();
    const stack = await perApiStack(apis, { store: 'redis', redis: { url: REDIS_URL, keyPrefix: testPrefix() } });
    try {
      const b = await stack.peer();
      const browser = new TestBrowser();
      await signIn(browser, stack);
      await sleep(TOKEN_TTL_S * 1000 + 200);
      const before = grantsOf(stack, 'refresh_token').length;
      const names = Object.keys(API);
      const responses = await Promise.all(
        Array.from({ length: 30 }, (_, i) =>
          browser.api(`${i % 2 ? b.url : stack.app}/api/${names[i % 3]}/${i}`, { balancedAs: stack.app }),
        ),
      );
      assert.deepEqual(
        responses.map((r) => r.status),
        Array(30).fill(200),
      );
      assert.equal(grantsOf(stack, 'refresh_token').slice(before).length, 3, 'one grant per API between them');
    } finally {
      await stack.close();
      await apis.close();
    }
  });
});

describe('a token per API: what a session weighs', () => {
  /** Signs in and has every API's token made: three resource tokens and an exchanged one. */
  async function fullSession(stack: Stack): Promise<TestBrowser> {
    const browser = new TestBrowser();
    await signIn(browser, stack);
    for (const name of [...Object.keys(API), 'reports']) {
      assert.equal((await browser.api(`${stack.app}/api/${name}/1`)).status, 200, name);
    }
    return browser;
  }

  it('cookie mode: the session with all four tokens stays within the default chunk limit', async () => {
    const apis = await startApis();
    const stack = await perApiStack(apis, { store: 'cookie' });
    try {
      const browser = await fullSession(stack);
      const cookies = (await browser.jar.getCookies(stack.app)).filter((c) => /^__Host-gatehouse(\.\d+)?$/.test(c.key));
      const sizes = cookies.map((c) => c.cookieString().length);
      process.stdout.write(
        `# cookie mode, three APIs and an exchange: ${cookies.length} cookies, ${sizes.join(' + ')} bytes\n`,
      );
      assert.ok(cookies.length <= 3, `${cookies.length} cookies (documented: at most 3 of the default 4)`);
      assert.ok(sizes.every((size) => size <= 4096));
      assert.equal((await browser.api(`${stack.app}/api/billing/again`)).status, 200, 'and it still opens');
    } finally {
      await stack.close();
      await apis.close();
    }
  });

  it('redis: the session with all four tokens stays within the documented size', { skip: skipRedis }, async () => {
    const apis = await startApis();
    const prefix = testPrefix();
    const stack = await perApiStack(apis, { store: 'redis', redis: { url: REDIS_URL, keyPrefix: prefix } });
    try {
      await fullSession(stack);
      const records = [...(await dumpRedis(REDIS_URL, prefix))].filter(([key]) => key.startsWith(`${prefix}s:`));
      const bytes = records.map(([, value]) => Buffer.byteLength(value, 'latin1'));
      process.stdout.write(`# redis, three APIs and an exchange: ${bytes.join(', ')} bytes per session record\n`);
      assert.equal(records.length, 1);
      assert.ok(bytes[0]! <= 4096, `${bytes[0]} bytes (documented: at most 4 KiB)`);
    } finally {
      await stack.close();
      await apis.close();
    }
  });
});
