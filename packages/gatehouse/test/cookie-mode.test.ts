/**
 * Sessions sealed into cookies: chunking past 4 KB with every Set-Cookie under the limit, tampered
 * or reordered chunks refused, secrets rotating without logouts, refreshes that never repeat, and
 * the configurations this mode cannot honour refused at startup.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { ConfigError, createGatehouse } from '../src/index.js';
import type { GatehouseConfigInput } from '../src/config/schema.js';
import { TestBrowser } from './support/browser.js';
import { leakedTokens, signIn, startStack, type Stack } from './support/stack.js';

const inCookies =
  (more: Partial<GatehouseConfigInput['session']> = {}) =>
  (defaults: GatehouseConfigInput) => ({
    ...defaults,
    session: { ...defaults.session!, store: 'cookie' as const, ...more },
  });
/** About 3.5 KB of group names: the ID token alone no longer fits one cookie. */
const GROUPS = Array.from({ length: 150 }, (_, i) => `team-${i}-${'x'.repeat(12)}`);

const sessionCookies = (browser: TestBrowser, app: string) =>
  browser.jar.getCookies(app).then((cookies) => cookies.filter((c) => /^__Host-gatehouse(\.\d+)?$/.test(c.key)));

describe('cookie mode: big sessions', () => {
  let stack: Stack;
  before(async () => {
    stack = await startStack({ idp: { extraClaims: { groups: GROUPS } }, gatehouse: inCookies() });
  });
  after(() => stack.close());

  it('splits a large session over several cookies, each Set-Cookie within 4096 bytes, and it round-trips', async () => {
    const browser = new TestBrowser();
    const landing = await signIn(browser, stack);
    const setCookies = landing.headers.getSetCookie();
    for (const header of setCookies) assert.ok(Buffer.byteLength(header) <= 4096, `${Buffer.byteLength(header)} bytes`);
    const chunks = await sessionCookies(browser, stack.app);
    assert.ok(chunks.length >= 2, `the session spans ${chunks.length} cookies`);
    for (const chunk of chunks) {
      assert.equal(chunk.httpOnly, true);
      assert.equal(chunk.secure, true);
      assert.equal(chunk.sameSite, 'strict');
      assert.equal(chunk.path, '/');
    }
    const user = JSON.parse((await browser.api(`${stack.app}/api/auth/user`)).body);
    assert.equal(user.groups.length, GROUPS.length);
    assert.equal((await browser.api(`${stack.app}/api/orders/1`)).status, 200);
    assert.match(stack.upstream.received.at(-1)!.headers.authorization!, /^Bearer ey/);
  });

  it('stores no readable token in the cookies (raw or base64url-decoded)', async () => {
    const browser = new TestBrowser();
    await signIn(browser, stack);
    const chunks = await sessionCookies(browser, stack.app);
    const raw = chunks.map((c) => c.value).join('');
    const decoded = Buffer.from(raw, 'base64url').toString('latin1');
    for (const token of stack.idp.issuedTokens().flatMap((t) => [t, ...t.split('.').filter((p) => p.length > 20)])) {
      assert.ok(!raw.includes(token) && !decoded.includes(token));
    }
    // No JWT of any kind (header and payload, both JSON: "eyJ….eyJ…"). Not a bare "eyJ": 5,000
    // characters of random base64url contain those three by chance about once in fifty runs.
    const jwt = /eyJ[\w-]{8,}\.eyJ[\w-]{8,}/;
    assert.doesNotMatch(raw, jwt);
    assert.doesNotMatch(decoded, jwt);
    assert.deepEqual(leakedTokens(browser, stack), []);
  });

  it('refuses a tampered, reordered, missing or foreign chunk', async () => {
    const browser = new TestBrowser();
    await signIn(browser, stack);
    // Opened once for real, so the instance's opened-cookie cache holds it: a tampered copy that
    // ends like it (the cache's lookup key) must still be opened and refused, not served from there.
    assert.equal((await browser.api(`${stack.app}/api/auth/user`)).status, 200);
    const chunks = await sessionCookies(browser, stack.app);
    const values = chunks.map((c) => c.value);
    const header = (vals: string[]) =>
      vals.map((v, i) => `${i === 0 ? '__Host-gatehouse' : `__Host-gatehouse.${i}`}=${v}`).join('; ');
    const flip = (v: string) => `${v.slice(0, 100)}${v[100] === 'A' ? 'B' : 'A'}${v.slice(101)}`;
    const variants = {
      tampered: header([values[0]!, flip(values[1]!), ...values.slice(2)]),
      'tampered, same ending': header([flip(values[0]!), ...values.slice(1)]),
      reordered: header([values[1]!, values[0]!, ...values.slice(2)]),
      'missing chunk': header(values.slice(0, -1)),
      'extra chunk': header([...values, values[0]!]),
    };
    for (const [name, cookie] of Object.entries(variants)) {
      const response = await new TestBrowser().request(`${stack.app}/api/orders`, {
        headers: { cookie, 'x-csrf': '1' },
      });
      assert.equal(response.status, 401, name);
      assert.equal(JSON.parse(response.body).error, 'session_expired', name);
    }
    const other = new TestBrowser();
    await signIn(other, stack);
    const mixed = (await sessionCookies(other, stack.app)).map((c) => c.value);
    const foreign = header([values[0]!, mixed[1]!, ...values.slice(2)]);
    assert.equal(
      (await new TestBrowser().request(`${stack.app}/api/orders`, { headers: { cookie: foreign, 'x-csrf': '1' } }))
        .status,
      401,
    );
    assert.equal((await browser.api(`${stack.app}/api/auth/user`)).status, 200, 'the untouched session still works');
  });

  it('clears every chunk at logout', async () => {
    const browser = new TestBrowser();
    await signIn(browser, stack);
    const count = (await sessionCookies(browser, stack.app)).length;
    const logout = await browser.api(`${stack.app}/api/auth/logout`, { method: 'POST' });
    const cleared = logout.headers.getSetCookie().filter((c) => /^__Host-gatehouse(\.\d+)?=;.*Max-Age=0/.test(c));
    assert.equal(cleared.length, count);
    assert.deepEqual(await sessionCookies(browser, stack.app), []);
  });

  it('fails sign-in with a clear error when the session outgrows the chunk limit', async () => {
    const small = await startStack({
      idp: { extraClaims: { groups: GROUPS } },
      gatehouse: inCookies({ cookieMode: { maxChunks: 1 } }),
    });
    try {
      const browser = new TestBrowser();
      const callback = await signIn(browser, small);
      assert.equal(callback.status, 500);
      assert.match(callback.body, /session_too_large/);
      assert.deepEqual(await sessionCookies(browser, small.app), []);
    } finally {
      await small.close();
    }
  });
});

describe('cookie mode: secrets and refresh', () => {
  it('keeps old sessions readable after a new secret is added first', async () => {
    const oldSecret = randomBytes(32).toString('base64url');
    const stack = await startStack({ gatehouse: inCookies({ secrets: [oldSecret] }) });
    try {
      const browser = new TestBrowser();
      await signIn(browser, stack);
      const rotated = await stack.peer((c) => ({
        ...c,
        session: { ...c.session!, secrets: [randomBytes(32).toString('base64url'), oldSecret] },
      }));
      assert.equal((await browser.api(`${rotated.url}/api/auth/user`, { balancedAs: stack.app })).status, 200);
    } finally {
      await stack.close();
    }
  });

  it('refreshes once, re-issues the cookie, and serves a request still carrying the old cookie from the new state', async () => {
    const stack = await startStack({
      idp: { accessTokenTtlSeconds: 2 },
      gatehouse: (d) => ({ ...inCookies()(d), oidc: { ...d.oidc, refreshSkew: '0s' } }),
    });
    try {
      const browser = new TestBrowser();
      await signIn(browser, stack);
      const before = (await sessionCookies(browser, stack.app)).map((c) => `${c.key}=${c.value}`).join('; ');
      await sleep(2200);
      const refreshes = () => stack.idp.grants.filter((g) => g.grantType === 'refresh_token').length;
      const responses = await Promise.all(Array.from({ length: 20 }, () => browser.api(`${stack.app}/api/orders`)));
      assert.deepEqual(new Set(responses.map((r) => r.status)), new Set([200]));
      assert.equal(refreshes(), 1);
      assert.ok(
        responses.some((r) => r.headers.getSetCookie().some((c) => c.startsWith('__Host-gatehouse='))),
        'new cookie issued',
      );
      // A request that still carries the pre-refresh cookie: no second grant (that would reuse a rotated token).
      const late = await new TestBrowser().request(`${stack.app}/api/orders`, {
        headers: { cookie: before, 'x-csrf': '1' },
      });
      assert.equal(late.status, 200);
      assert.equal(refreshes(), 1);
      assert.ok(stack.idp.grants.every((g) => g.ok));
    } finally {
      await stack.close();
    }
  });
});

describe('cookie mode: what it cannot do is refused at startup', () => {
  const base = {
    publicUrl: 'https://app.example.com',
    oidc: { issuer: 'https://login.example.com', clientId: 'bff', clientSecret: 'x' },
    session: { store: 'cookie' as const, secrets: ['s'.repeat(40)] },
  };
  it('refuses back-channel logout and session admin, which need server-side sessions', async () => {
    await assert.rejects(
      createGatehouse({ ...base, oidc: { ...base.oidc, backchannelLogout: true } }),
      (e: unknown) => e instanceof ConfigError && e.problems.some((p) => p.startsWith('oidc.backchannelLogout')),
    );
    await assert.rejects(
      createGatehouse({ ...base, admin: { token: 't'.repeat(32) } }),
      (e: unknown) => e instanceof ConfigError && e.problems.some((p) => p.startsWith('admin.token')),
    );
  });
});
