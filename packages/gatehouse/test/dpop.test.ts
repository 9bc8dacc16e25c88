/**
 * DPoP (RFC 9449) against the real provider, which binds tokens to Gatehouse's per-session key, and
 * a resource server that verifies every proof with jose (verifying-upstream.ts): sign-in binds the
 * code and the tokens, each API call carries a fresh proof (htm, htu, ath, iat, a jti never used
 * twice), refresh proves possession at the token endpoint, nonces from the provider and from the
 * resource server are honoured with one retry and remembered, and the browser never sees a key.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { decodeJwt, EmbeddedJWK, jwtVerify } from 'jose';
import { TestBrowser } from './support/browser.js';
import type { GatehouseConfigInput } from '../src/config/schema.js';
import { REDIS_URL, redisUnavailable, testPrefix } from './support/redis.js';
import { DpopKey } from '../src/tokens/dpop.js';
import { leakedTokens, signIn, startStack, type Stack } from './support/stack.js';
import { startVerifyingUpstream, type VerifyingUpstream } from './support/verifying-upstream.js';

/** The provider refuses tokens that are not DPoP-bound for this client, and demands nonces at its token and PAR endpoints. */
const dpopProvider = {
  features: { dPoP: { enabled: true, nonceSecret: Buffer.alloc(32, 7), requireNonce: () => true } },
};

const skipRedis = await redisUnavailable();

async function dpopStack(
  api: VerifyingUpstream,
  extra: { pushed?: boolean; tokenTtlSeconds?: number; session?: Partial<GatehouseConfigInput['session']> } = {},
): Promise<Stack> {
  const stack = await startStack({
    idp: {
      ...dpopProvider,
      features: {
        ...dpopProvider.features,
        ...(extra.pushed
          ? { pushedAuthorizationRequests: { enabled: true, requirePushedAuthorizationRequests: true } }
          : {}),
      },
      accessTokenTtlSeconds: extra.tokenTtlSeconds ?? 60,
    },
    client: (registration) => ({ ...registration, metadata: { dpop_bound_access_tokens: true } }),
    gatehouse: (d) => ({
      ...d,
      oidc: { ...d.oidc, senderConstraint: 'dpop', refreshSkew: '0s' },
      session: { ...d.session, ...extra.session },
      routes: [
        { path: '/orders', upstream: `${api.url}/orders` },
        { path: '/plain', upstream: `${api.url}/plain`, token: 'none' },
        { path: '/service', upstream: `${api.url}/service`, token: 'client' },
      ],
    }),
  });
  api.trust({ issuer: stack.idp.issuer, audience: stack.idp.apiResource });
  return stack;
}

describe('DPoP-bound tokens, with PAR', () => {
  let api: VerifyingUpstream;
  let stack: Stack;
  before(async () => {
    api = await startVerifyingUpstream({ mode: 'dpop' });
    stack = await dpopStack(api, { pushed: true });
  });
  after(async () => {
    await stack.close();
    await api.close();
  });

  it('signs in with a DPoP-bound code and tokens, and every call carries a fresh proof the API verifies', async () => {
    const browser = new TestBrowser();
    const callback = await signIn(browser, stack);
    assert.equal(callback.status, 302, callback.body);
    const code = stack.idp.grants.find((g) => g.grantType === 'authorization_code' && g.ok)!;
    assert.ok(code, 'the provider issued tokens');
    const accessToken = code.tokens[0]!;
    assert.equal(
      typeof (decodeJwt(accessToken).cnf as { jkt?: unknown })?.jkt,
      'string',
      'the token is bound to a key',
    );

    const before = api.verdicts.length;
    for (let i = 0; i < 3; i++) {
      const response = await browser.api(`${stack.app}/api/orders/${i}?x=1`);
      assert.equal(response.status, 200, response.body);
    }
    const post = await browser.api(`${stack.app}/api/orders`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"item":1}',
    });
    assert.equal(post.status, 200, post.body);
    const verdicts = api.verdicts.slice(before);
    assert.deepEqual(
      verdicts.map((v) => [v.method, v.path, v.ok]),
      [
        ['GET', '/orders/0', true],
        ['GET', '/orders/1', true],
        ['GET', '/orders/2', true],
        ['POST', '/orders', true],
      ],
    );
    assert.equal(new Set(verdicts.map((v) => v.jti)).size, 4, 'a new jti for every call');
    assert.deepEqual(leakedTokens(browser, stack), []);
    const seen = browser.seen.map((r) => r.body + JSON.stringify([...r.headers])).join('\n');
    assert.doesNotMatch(seen, /"d":"|dpop\+jwt/i, 'no key and no proof reaches the browser');
  });

  it("refuses a browser-supplied DPoP header: the API only ever sees Gatehouse's proof", async () => {
    const browser = new TestBrowser();
    await signIn(browser, stack);
    const before = api.verdicts.length;
    const forged = 'eyJ0eXAiOiJkcG9wK2p3dCJ9.e30.AAAA';
    const response = await browser.api(`${stack.app}/api/orders/1`, { headers: { dpop: forged } });
    assert.equal(response.status, 200);
    assert.equal(api.verdicts.length, before + 1);
    assert.equal(api.verdicts.at(-1)!.ok, true);
  });

  it("binds client-credentials tokens to the instance's key, asked for by several calls at once", async () => {
    const browser = new TestBrowser();
    await signIn(browser, stack);
    const before = api.verdicts.length;
    const responses = await Promise.all([1, 2, 3].map((i) => browser.api(`${stack.app}/api/service/${i}`)));
    assert.deepEqual(
      responses.map((r) => r.status),
      [200, 200, 200],
    );
    assert.deepEqual(
      api.verdicts.slice(before).map((v) => v.ok),
      [true, true, true],
    );
    const client = stack.idp.grants.filter((g) => g.grantType === 'client_credentials' && g.ok);
    assert.equal(client.length, 1, 'one client token');
    assert.equal(typeof (decodeJwt(client[0]!.tokens[0]!).cnf as { jkt?: string }).jkt, 'string', 'DPoP-bound');
  });

  it('retries once with the nonce a resource server demands, and remembers it', async () => {
    const browser = new TestBrowser();
    await signIn(browser, stack);
    api.demandNonce('rs-nonce-1');
    try {
      const before = api.verdicts.length;
      const first = await browser.api(`${stack.app}/api/orders/a`);
      assert.equal(first.status, 200, first.body);
      assert.deepEqual(
        api.verdicts.slice(before).map((v) => [v.ok, v.nonce]),
        [
          [false, undefined],
          [true, 'rs-nonce-1'],
        ],
      );
      const second = await browser.api(`${stack.app}/api/orders/b`);
      assert.equal(second.status, 200);
      assert.deepEqual(api.verdicts.at(-1), { ...api.verdicts.at(-1), ok: true, nonce: 'rs-nonce-1' });
      assert.equal(api.verdicts.length, before + 3, 'the remembered nonce needs no second retry');
    } finally {
      api.demandNonce(undefined);
    }
  });

  it('answers 401 without looping when the resource server keeps refusing the proof', async () => {
    const browser = new TestBrowser();
    await signIn(browser, stack);
    api.demandNonce('moving-target');
    try {
      // A body cannot be replayed: the 401 reaches the browser at once, and the nonce is remembered.
      const before = api.verdicts.length;
      const post = await browser.api(`${stack.app}/api/orders`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{}',
      });
      assert.equal(post.status, 401);
      assert.equal(JSON.parse(post.body).error, 'upstream_unauthorized');
      assert.equal(api.verdicts.length, before + 1);
      const retried = await browser.api(`${stack.app}/api/orders`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{}',
      });
      assert.equal(retried.status, 200, 'the next call carries the nonce it was given');
    } finally {
      api.demandNonce(undefined);
    }
  });
});

describe('DPoP-bound tokens, refreshed', () => {
  let api: VerifyingUpstream;
  let stack: Stack;
  before(async () => {
    api = await startVerifyingUpstream({ mode: 'dpop' });
    stack = await dpopStack(api, { tokenTtlSeconds: 2 });
  });
  after(async () => {
    await stack.close();
    await api.close();
  });

  it('binds the code by dpop_jkt without PAR, refreshes with a proof, and the new token is bound to the same key', async () => {
    const browser = new TestBrowser();
    assert.equal((await signIn(browser, stack)).status, 302);
    const first = stack.idp.grants.filter((g) => g.ok && g.grantType === 'authorization_code').at(-1)!;
    const jkt = (decodeJwt(first.tokens[0]!).cnf as { jkt: string }).jkt;
    await sleep(2_200); // the access token expires

    const refreshes = () => stack.idp.grants.filter((g) => g.grantType === 'refresh_token');
    const response = await browser.api(`${stack.app}/api/orders/after-refresh`);
    assert.equal(response.status, 200, response.body);
    const refreshed = refreshes().filter((g) => g.ok);
    assert.equal(refreshed.length, 1, 'one refresh');
    assert.equal((decodeJwt(refreshed[0]!.tokens[0]!).cnf as { jkt: string }).jkt, jkt, 'same key');
    assert.equal(api.verdicts.at(-1)!.ok, true);
  });
});

describe('DPoP proofs', () => {
  it('are valid for their own method and URL, with a new jti each, in every algorithm', async () => {
    for (const alg of ['ES256', 'EdDSA', 'PS256'] as const) {
      const key = await DpopKey.generate(alg);
      const proofs = await Promise.all(
        Array.from({ length: 40 }, (_, i) => key.proof('POST', `https://api.example/orders/${i}`, 'the-token', 'n-1')),
      );
      const jtis = new Set<unknown>();
      for (const [i, proof] of proofs.entries()) {
        const { payload, protectedHeader } = await jwtVerify(proof, EmbeddedJWK, {
          typ: 'dpop+jwt',
          algorithms: [alg],
        });
        assert.deepEqual([payload.htm, payload.htu, payload.nonce], ['POST', `https://api.example/orders/${i}`, 'n-1']);
        assert.equal((protectedHeader.jwk as Record<string, unknown>).d, undefined, 'no private member in the header');
        jtis.add(payload.jti);
      }
      assert.equal(jtis.size, proofs.length);
    }
  });
});

describe("the provider's DPoP nonce", () => {
  it("is learnt once and carried by every later session's first proof: no more use_dpop_nonce round trips", async () => {
    const api = await startVerifyingUpstream({ mode: 'dpop' });
    const stack = await dpopStack(api);
    try {
      const nonceDemands = () => stack.idp.grants.filter((g) => g.error === 'use_dpop_nonce').length;
      await signIn(new TestBrowser(), stack);
      assert.equal(nonceDemands(), 1, 'the first proof had no nonce to carry');
      for (let i = 0; i < 3; i++) assert.equal((await signIn(new TestBrowser(), stack)).status, 302);
      assert.equal(nonceDemands(), 1, 'new sessions, new keys, the same nonce');
    } finally {
      await stack.close();
      await api.close();
    }
  });
});

describe('DPoP keys travel with the session', () => {
  it(
    'redis: a second instance signs proofs for a session the first one started, and refreshes it once',
    { skip: skipRedis },
    async () => {
      const api = await startVerifyingUpstream({ mode: 'dpop' });
      const stack = await dpopStack(api, {
        tokenTtlSeconds: 2,
        session: { store: 'redis', redis: { url: REDIS_URL, keyPrefix: testPrefix() } },
      });
      try {
        const b = await stack.peer();
        const browser = new TestBrowser();
        await signIn(browser, stack);
        assert.equal((await browser.api(`${b.url}/api/orders/b1`, { balancedAs: stack.app })).status, 200);
        await sleep(2_200);
        const responses = await Promise.all(
          Array.from({ length: 20 }, (_, i) =>
            browser.api(`${i % 2 ? b.url : stack.app}/api/orders/${i}`, { balancedAs: stack.app }),
          ),
        );
        assert.deepEqual(
          responses.map((r) => r.status),
          Array(20).fill(200),
        );
        assert.equal(stack.idp.grants.filter((g) => g.grantType === 'refresh_token' && g.ok).length, 1, 'one refresh');
        assert.ok(api.verdicts.slice(-20).every((v) => v.ok));
      } finally {
        await stack.close();
        await api.close();
      }
    },
  );

  it('cookie mode: the sealed cookie carries the key, within the chunk limit, and the API accepts the proofs', async () => {
    const api = await startVerifyingUpstream({ mode: 'dpop' });
    const stack = await dpopStack(api, { session: { store: 'cookie' } });
    try {
      const browser = new TestBrowser();
      const callback = await signIn(browser, stack);
      const chunks = callback.headers.getSetCookie().filter((c) => /^__Host-gatehouse(\.\d+)?=[^;]/.test(c));
      assert.ok(chunks.length >= 1 && chunks.length <= 4, `${chunks.length} cookies`);
      assert.ok(chunks.every((c) => c.length <= 4096));
      assert.equal((await browser.api(`${stack.app}/api/orders/c`)).status, 200);
      assert.equal(api.verdicts.at(-1)!.ok, true);
    } finally {
      await stack.close();
      await api.close();
    }
  });
});
