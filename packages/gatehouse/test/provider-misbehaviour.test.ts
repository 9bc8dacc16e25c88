/**
 * A misbehaving OpenID Provider, refused the way a certified relying party must (OIDC Core
 * §3.1.3.7, §12.2; RFC 9207; JARM; the OIDF RP conformance tests behind SECURITY-REQUIREMENTS
 * items 34, 36, 37, 50 and 55). The provider is the real demo oidc-provider behind a tampering
 * proxy (support/tampering-proxy.ts) that changes one thing in an otherwise genuine answer: an
 * ID token re-signed with the provider's own key but one claim or header changed, a JWKS after key
 * rotation, the `iss` or JARM `response` of the redirect back to Gatehouse. Each refusal must leave
 * no session, store nothing, and never call the API.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, afterEach, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  decodeJwt,
  decodeProtectedHeader,
  exportJWK,
  exportSPKI,
  generateKeyPair,
  importJWK,
  SignJWT,
  UnsecuredJWT,
  type JWK,
  type JWTHeaderParameters,
  type JWTPayload,
} from 'jose';
import { TestBrowser, type SeenResponse } from './support/browser.js';
import {
  authorizationResponse,
  CLIENT_ID,
  signIn,
  startStack,
  type Stack,
  type StackOptions,
} from './support/stack.js';
import {
  grantType,
  rewriteJson,
  rewriteRedirect,
  startTamperingProxy,
  type TamperingProxy,
  type TamperRule,
} from './support/tampering-proxy.js';

/** The demo user every sign-in here is for (examples/demo/src/users.ts). */
const ALICE = 'alice';
const HOUR = 3600;
const now = () => Math.floor(Date.now() / 1000);

interface TamperedStack {
  stack: Stack;
  proxy: TamperingProxy;
  close(): Promise<void>;
}

/** The demo provider announcing the proxy's URL as its issuer, and Gatehouse talking to it only through the proxy. */
async function startTamperedStack(options: StackOptions = {}): Promise<TamperedStack> {
  const proxy = await startTamperingProxy();
  const stack = await startStack({ ...options, idp: { ...options.idp, issuer: proxy.url } }).catch(
    async (error: unknown) => {
      await proxy.close();
      throw error;
    },
  );
  proxy.target(stack.idp.listenUrl);
  return {
    stack,
    proxy,
    close: async () => {
      await stack.close();
      await proxy.close();
    },
  };
}

/** Signs a JWT with a private JWK, with exactly the header given. */
async function sign(claims: JWTPayload, header: JWTHeaderParameters, key: JWK): Promise<string> {
  return new SignJWT(claims).setProtectedHeader(header).sign(await importJWK(key, header.alg));
}

type Forge = (claims: JWTPayload, header: JWTHeaderParameters) => string | Promise<string>;

/** Replaces the ID token of the token endpoint's answers to one grant type with a forged one made from the genuine token. */
function forgeIdToken(forge: Forge, grant = 'authorization_code'): TamperRule {
  return rewriteJson(
    'POST',
    '/token',
    async (json) => {
      const genuine = String(json.id_token);
      return {
        ...json,
        id_token: await forge(decodeJwt(genuine), decodeProtectedHeader(genuine) as JWTHeaderParameters),
      };
    },
    grantType(grant),
  );
}

/** The genuine ID token with its claims changed, re-signed with the provider's own key (header unchanged). */
function resigned(stack: Stack, change: (claims: JWTPayload) => JWTPayload): Forge {
  return (claims, header) => sign(change(claims), header, stack.idp.signingKey);
}

/** A new RSA signing key the provider never published, and its public half. */
async function newSigningKey(): Promise<{ privateJwk: JWK; publicJwk: JWK }> {
  const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true });
  const kid = randomBytes(8).toString('hex');
  return {
    privateJwk: { ...(await exportJWK(privateKey)), kid, alg: 'RS256', use: 'sig' },
    publicJwk: { ...(await exportJWK(publicKey)), kid, alg: 'RS256', use: 'sig' },
  };
}

function assertNoSessionCookie(response: SeenResponse): void {
  assert.ok(!response.headers.getSetCookie().some((c) => /^__Host-gatehouse=[^;]/.test(c)), 'no session cookie is set');
}

function assertJsonError(response: SeenResponse, status: number, error: string): void {
  assert.equal(response.status, status, response.body);
  assert.equal(JSON.parse(response.body).error, error, response.body);
  assert.equal(response.headers.get('location'), null);
}

/** What the tests below need from one tampered stack. */
function harness(get: () => TamperedStack) {
  const aliceSessions = async () =>
    (await get().stack.gatehouse.services.sessions.find({ iss: get().stack.idp.issuer, sub: ALICE })).sort();
  const callback = (browser: TestBrowser, url: URL) =>
    browser.request(url.href, {
      navigate: true,
      from: get().stack.idp.issuer,
      headers: { accept: 'application/json' },
    });

  /**
   * Signs in through the (tampered) provider and expects Gatehouse to refuse at the callback:
   * 400 login_failed, no session cookie, no stored session, no API call. Returns how many token
   * requests the provider got for this sign-in.
   */
  async function assertSignInRefused(): Promise<{ tokenCalls: number }> {
    const { stack, proxy } = get();
    const sessionsBefore = await aliceSessions();
    const apiCalls = stack.upstream.received.length;
    const tokenCalls = proxy.count('POST', '/token');
    const browser = new TestBrowser();
    const response = await callback(browser, await authorizationResponse(browser, stack));
    assertJsonError(response, 400, 'login_failed');
    assertNoSessionCookie(response);
    assert.equal((await browser.api(`${stack.app}/api/auth/user`)).status, 401, 'not signed in');
    assert.equal((await browser.api(`${stack.app}/api/orders/1`)).status, 401, 'no API access');
    assert.deepEqual(await aliceSessions(), sessionsBefore, 'no session was stored');
    assert.equal(stack.upstream.received.length, apiCalls, 'the API was never called');
    return { tokenCalls: proxy.count('POST', '/token') - tokenCalls };
  }

  /** Signs in and expects it to work: a session for alice, the API reachable. */
  async function assertSignInWorks(): Promise<void> {
    const { stack } = get();
    const browser = new TestBrowser();
    const response = await callback(browser, await authorizationResponse(browser, stack));
    assert.equal(response.status, 302, response.body);
    const user = await browser.api(`${stack.app}/api/auth/user`);
    assert.equal(user.status, 200, user.body);
    assert.equal(JSON.parse(user.body).sub, ALICE);
    assert.equal((await browser.api(`${stack.app}/api/orders/1`)).status, 200);
  }

  return { aliceSessions, callback, assertSignInRefused, assertSignInWorks };
}

describe('a misbehaving provider: ID tokens at the callback', () => {
  let tampered: TamperedStack;
  const { assertSignInRefused, assertSignInWorks } = harness(() => tampered);
  const stack = () => tampered.stack;
  const proxy = () => tampered.proxy;
  const tamper = (rule: TamperRule) => proxy().tamper(rule);

  before(async () => {
    // Some twenty-five sign-ins in well under a minute: more than the default per-IP sign-in limit allows.
    tampered = await startTamperedStack({
      gatehouse: (defaults) => ({ ...defaults, rateLimit: { signIn: { requests: 1000, window: '1m' } } }),
    });
  });
  afterEach(() => proxy().reset());
  after(() => tampered.close());

  it('signs in through the untampered proxy (control: the harness itself is sound)', async () => {
    await assertSignInWorks();
    assert.ok(proxy().count('GET', '/jwks') >= 1, 'Gatehouse checked the signature against the JWKS');
    assert.ok(proxy().count('POST', '/token') >= 1, 'the code was redeemed through the proxy');
  });

  it('accepts an ID token whose aud is a one-element array (control: fapi2 valid-aud-as-array)', async () => {
    tamper(forgeIdToken(resigned(stack(), (claims) => ({ ...claims, aud: [CLIENT_ID] }))));
    await assertSignInWorks();
  });

  it('refuses an ID token from another issuer (oidcc-client-test-invalid-iss)', async () => {
    tamper(forgeIdToken(resigned(stack(), (claims) => ({ ...claims, iss: 'https://evil.test' }))));
    await assertSignInRefused();
  });

  it('refuses an ID token for another client only (oidcc-client-test-invalid-aud)', async () => {
    tamper(forgeIdToken(resigned(stack(), (claims) => ({ ...claims, aud: 'another-client' }))));
    await assertSignInRefused();
  });

  it('refuses an ID token with an untrusted second audience (fapi2 invalid-secondary-aud)', async () => {
    // With azp naming the other client (azp, when present, must be our client_id)...
    tamper(
      forgeIdToken(
        resigned(stack(), (claims) => ({ ...claims, aud: [CLIENT_ID, 'another-client'], azp: 'another-client' })),
      ),
    );
    await assertSignInRefused();
    proxy().reset();
    // ...and without azp (several audiences and no authorized party: the other one is not trusted).
    tamper(forgeIdToken(resigned(stack(), (claims) => ({ ...claims, aud: [CLIENT_ID, 'another-client'] }))));
    await assertSignInRefused();
  });

  it('refuses an unsigned ID token, alg "none" (oidcc-client-test-idtoken-sig-none)', async () => {
    tamper(forgeIdToken((claims) => new UnsecuredJWT(claims).encode()));
    await assertSignInRefused();
  });

  it('refuses an HS256 ID token keyed with the client secret or the provider public key while RS256 is configured', async () => {
    // oidcc-client-test-invalid-sig-hs256: HMAC with the secret both parties know.
    tamper(
      forgeIdToken((claims) =>
        new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).sign(new TextEncoder().encode(stack().clientSecret)),
      ),
    );
    await assertSignInRefused();
    proxy().reset();
    // RS/HS confusion (RFC 8725 §2.1): HMAC keyed with the provider's public key, which anyone can fetch.
    const { n, e, kty } = stack().idp.signingKey;
    const publicPem = await exportSPKI((await importJWK({ n, e, kty }, 'RS256')) as CryptoKey);
    tamper(
      forgeIdToken((claims, header) =>
        new SignJWT(claims)
          .setProtectedHeader({ alg: 'HS256', kid: header.kid })
          .sign(new TextEncoder().encode(publicPem)),
      ),
    );
    await assertSignInRefused();
  });

  it("refuses an ID token signed by a key that is not the provider's, under the provider's kid (oidcc-client-test-invalid-sig-rs256)", async () => {
    const stranger = await newSigningKey();
    tamper(forgeIdToken((claims, header) => sign(claims, header, stranger.privateJwk)));
    await assertSignInRefused();
  });

  it('refuses an ID token that expired an hour ago (fapi2 invalid-expired-exp)', async () => {
    tamper(forgeIdToken(resigned(stack(), (claims) => ({ ...claims, exp: now() - HOUR }))));
    await assertSignInRefused();
  });

  it('refuses an ID token issued an hour in the future (iat not plausible)', async () => {
    tamper(forgeIdToken(resigned(stack(), (claims) => ({ ...claims, iat: now() + HOUR }))));
    await assertSignInRefused();
  });

  it('refuses an ID token with another nonce (oidcc-client-test-invalid-nonce)', async () => {
    tamper(forgeIdToken(resigned(stack(), (claims) => ({ ...claims, nonce: randomBytes(32).toString('base64url') }))));
    await assertSignInRefused();
  });

  it('refuses an ID token without sub, iat, exp, iss or aud (oidcc-client-test-missing-*)', async () => {
    for (const claim of ['sub', 'iat', 'exp', 'iss', 'aud'] as const) {
      proxy().reset();
      tamper(
        forgeIdToken(
          resigned(stack(), (claims) => {
            const { [claim]: _removed, ...rest } = claims;
            return rest;
          }),
        ),
      );
      await assertSignInRefused();
    }
  });

  it('refuses a kid the JWKS lacks after looking at the provider keys exactly once more', async () => {
    await assertSignInWorks(); // the JWKS is cached now
    const unknownKid = randomBytes(8).toString('hex');
    tamper(forgeIdToken((claims, header) => sign(claims, { ...header, kid: unknownKid }, stack().idp.signingKey)));
    const fetches = proxy().count('GET', '/jwks');
    await assertSignInRefused();
    assert.equal(proxy().count('GET', '/jwks'), fetches + 1, 'one refetch of the JWKS, no more');
  });

  it('follows a key rotation: a token signed with a newly published key works, even right after a JWKS fetch (oidcc-client-test-signing-key-rotation)', async () => {
    await assertSignInWorks(); // the JWKS (old key only) is cached now
    for (let rotation = 1; rotation <= 2; rotation++) {
      // The provider publishes a new key next to the old one and signs with it from now on.
      proxy().reset();
      const next = await newSigningKey();
      tamper(rewriteJson('GET', '/jwks', (jwks) => ({ keys: [...(jwks.keys as JWK[]), next.publicJwk] })));
      tamper(forgeIdToken((claims, header) => sign(claims, { ...header, kid: next.privateJwk.kid }, next.privateJwk)));
      const fetches = proxy().count('GET', '/jwks');
      // The second rotation comes right after the first one's fetch: no cooldown may hold the new key back.
      await assertSignInWorks();
      assert.equal(proxy().count('GET', '/jwks'), fetches + 1, `rotation ${rotation}: one JWKS fetch`);
    }
  });

  it('refuses an authorization response naming another issuer, before any token request (RFC 9207 mix-up)', async () => {
    tamper(
      rewriteRedirect(`${stack().app}/api/auth/callback`, (location) => {
        assert.equal(location.searchParams.get('iss'), stack().idp.issuer, 'the provider sends iss (RFC 9207)');
        location.searchParams.set('iss', 'https://other-provider.test');
        return location;
      }),
    );
    const grants = stack().idp.grants.length;
    const { tokenCalls } = await assertSignInRefused();
    assert.equal(tokenCalls, 0, 'the code was not sent to the token endpoint');
    assert.equal(stack().idp.grants.length, grants, 'the provider redeemed nothing');
  });
});

describe('a misbehaving provider: ID tokens at refresh (OIDC Core §12.2)', () => {
  const ACCESS_TOKEN_TTL_S = 2;
  let tampered: TamperedStack;
  const stack = () => tampered.stack;
  const proxy = () => tampered.proxy;
  const { aliceSessions } = harness(() => tampered);
  /** What a refreshed ID token may get wrong, each tried on its own session. */
  const faults = {
    'another sub (oidcc-client-test-refresh-token-invalid-sub)': (claims: JWTPayload) => ({ ...claims, sub: 'bob' }),
    'another iss (oidcc-client-test-refresh-token-invalid-issuer)': (claims: JWTPayload) => ({
      ...claims,
      iss: 'https://evil.test',
    }),
    'an iat an hour in the future': (claims: JWTPayload) => ({ ...claims, iat: now() + HOUR }),
  };
  /** Signed in before the access tokens expired: one browser for the control, one per fault. */
  const control = new TestBrowser();
  const browsers = new Map(Object.keys(faults).map((fault) => [fault, new TestBrowser()]));
  const refreshCalls = () => proxy().seen.filter((r) => r.path === '/token' && grantType('refresh_token')(r)).length;

  before(async () => {
    tampered = await startTamperedStack({
      idp: { accessTokenTtlSeconds: ACCESS_TOKEN_TTL_S },
      gatehouse: (defaults) => ({ ...defaults, oidc: { ...defaults.oidc, refreshSkew: '0s' } }),
    });
    for (const browser of [control, ...browsers.values()]) {
      assert.equal((await signIn(browser, stack())).status, 302);
      assert.equal((await browser.api(`${stack().app}/api/orders/1`)).status, 200);
    }
    await sleep(ACCESS_TOKEN_TTL_S * 1000 + 200); // every access token has expired
  });
  afterEach(() => proxy().reset());
  after(() => tampered.close());

  it('refreshes with the genuine ID token (control)', async () => {
    const refreshes = refreshCalls();
    const response = await control.api(`${stack().app}/api/orders/2`);
    assert.equal(response.status, 200, response.body);
    assert.equal(refreshCalls(), refreshes + 1, 'the call needed a refresh');
  });

  for (const [fault, change] of Object.entries(faults)) {
    it(`ends the session when the refreshed ID token has ${fault}, without calling the API`, async () => {
      const browser = browsers.get(fault)!;
      proxy().tamper(forgeIdToken(resigned(stack(), change), 'refresh_token'));
      const sessions = await aliceSessions();
      const apiCalls = stack().upstream.received.length;
      const refreshes = refreshCalls();
      const response = await browser.api(`${stack().app}/api/orders/3`);
      assertJsonError(response, 401, 'session_expired');
      assert.equal(refreshCalls(), refreshes + 1, 'the provider was asked once');
      assert.equal(stack().upstream.received.length, apiCalls, 'the API was never called');
      assert.equal((await browser.api(`${stack().app}/api/orders/3`)).status, 401, 'still no access');
      assert.equal((await browser.api(`${stack().app}/api/auth/user`)).status, 401, 'signed out');
      assert.equal((await aliceSessions()).length, sessions.length - 1, 'the session is gone from the store');
      assert.deepEqual(
        await stack().gatehouse.services.sessions.find({ iss: stack().idp.issuer, sub: 'bob' }),
        [],
        'no session became another user’s',
      );
      assert.equal(stack().upstream.received.length, apiCalls);
    });
  }
});

describe('a misbehaving provider: JARM authorization responses', () => {
  let tampered: TamperedStack;
  const stack = () => tampered.stack;
  const proxy = () => tampered.proxy;
  const { assertSignInRefused, assertSignInWorks } = harness(() => tampered);
  const callbackUrl = () => `${stack().app}/api/auth/callback`;

  /** Rewrites the provider's JARM response JWT on its way to the browser. */
  const tamperJarm = (forge: Forge) =>
    proxy().tamper(
      rewriteRedirect(callbackUrl(), async (location) => {
        const jwt = location.searchParams.get('response');
        assert.ok(jwt, 'the provider answered with a JARM response');
        const claims = decodeJwt(jwt);
        // What oidc-provider signs into it: a forged copy must keep all of it.
        for (const claim of ['iss', 'aud', 'exp', 'code', 'state']) assert.ok(claim in claims, `JARM carries ${claim}`);
        const tamperedUrl = new URL(location.origin + location.pathname);
        tamperedUrl.searchParams.set(
          'response',
          await forge(claims, decodeProtectedHeader(jwt) as JWTHeaderParameters),
        );
        return tamperedUrl;
      }),
    );

  before(async () => {
    tampered = await startTamperedStack({
      idp: { features: { jwtResponseModes: { enabled: true } } },
      gatehouse: (defaults) => ({ ...defaults, oidc: { ...defaults.oidc, responseMode: 'jwt' } }),
    });
  });
  afterEach(() => proxy().reset());
  after(() => tampered.close());

  it('signs in with a genuine JARM response (control)', async () => {
    let seen: URL | undefined;
    proxy().tamper(
      rewriteRedirect(callbackUrl(), (location) => {
        seen = location;
        return location;
      }),
    );
    await assertSignInWorks();
    assert.deepEqual([...seen!.searchParams.keys()], ['response'], 'the response came as a JWT only');
  });

  it("signs in with a JARM response re-signed unchanged with the provider's key (control for the forgeries below)", async () => {
    tamperJarm((claims, header) => sign(claims, header, stack().idp.signingKey));
    await assertSignInWorks();
  });

  it("refuses a JARM response signed by a key that is not the provider's, before any token request", async () => {
    const stranger = await newSigningKey();
    tamperJarm((claims, header) => sign(claims, header, stranger.privateJwk));
    const { tokenCalls } = await assertSignInRefused();
    assert.equal(tokenCalls, 0, 'the code was not redeemed');
  });

  it('refuses an expired JARM response (replayed after expiry), before any token request', async () => {
    tamperJarm((claims, header) => sign({ ...claims, exp: now() - HOUR }, header, stack().idp.signingKey));
    const { tokenCalls } = await assertSignInRefused();
    assert.equal(tokenCalls, 0, 'the code was not redeemed');
  });
});
