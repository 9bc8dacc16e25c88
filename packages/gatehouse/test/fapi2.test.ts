/**
 * The FAPI 2.0 Security Profile end to end, with the message-signing extras on top: oidc-provider in
 * its FAPI 2.0 mode on a real TLS listener, demanding pushed authorization requests carrying signed
 * request objects, private_key_jwt (checked against Gatehouse's own JWKS endpoint), DPoP-bound
 * tokens with server nonces, PS256 ID tokens and JARM responses; Gatehouse with `profile: fapi2` and
 * `responseMode: jwt`; an API that verifies every DPoP proof.
 * Sign-in, API calls, refresh and logout all work, and what a FAPI 2.0 client must never do, it
 * does not.
 */
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import { TestBrowser } from './support/browser.js';
import { createTestPki, type TestPki } from './support/certificates.js';
import { authorizationResponse, leakedTokens, signIn, startStack, type Stack } from './support/stack.js';
import { startVerifyingUpstream, type VerifyingUpstream } from './support/verifying-upstream.js';

const TOKEN_TTL_S = 2;

const pki: TestPki = createTestPki();
const tls = { key: pki.server.key, cert: pki.server.cert, ca: pki.ca.cert };

/** oidc-provider in FAPI 2.0 mode over TLS, and Gatehouse with profile fapi2; `signed`: request objects and JARM too. */
async function fapi2Stack(api: VerifyingUpstream, signed: boolean): Promise<Stack> {
  const signingKey = JSON.stringify({
    ...generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'jwk' }),
    kid: 'fapi-1',
  });
  const stack = await startStack({
    idp: {
      tls,
      signingAlg: 'PS256',
      accessTokenTtlSeconds: TOKEN_TTL_S,
      features: {
        fapi: { enabled: true, profile: '2.0' },
        pushedAuthorizationRequests: { enabled: true, requirePushedAuthorizationRequests: true },
        dPoP: { enabled: true, nonceSecret: Buffer.alloc(32, 9), requireNonce: () => true },
        ...(signed
          ? { requestObjects: { enabled: true, requireSignedRequestObject: true }, jwtResponseModes: { enabled: true } }
          : {}),
      },
    },
    client: ({ clientSecret: _secret, ...registration }, app) => ({
      ...registration,
      tokenEndpointAuthMethod: 'private_key_jwt',
      metadata: {
        jwks_uri: `${app}/api/auth/jwks`,
        token_endpoint_auth_signing_alg: 'ES256',
        dpop_bound_access_tokens: true,
        ...(signed ? { request_object_signing_alg: 'ES256', authorization_signed_response_alg: 'PS256' } : {}),
      },
    }),
    gatehouse: ({ oidc: { clientSecret: _secret, allowInsecureHttp: _http, ...oidc }, ...d }) => ({
      ...d,
      oidc: {
        ...oidc,
        profile: 'fapi2',
        signingKeys: [{ key: signingKey }],
        tls: { caFile: pki.ca.certFile },
        refreshSkew: '0s',
        ...(signed ? { responseMode: 'jwt' as const } : {}),
      },
      routes: [{ path: '/orders', upstream: `${api.url}/orders`, caFile: pki.ca.certFile }],
    }),
  });
  api.trust({ issuer: stack.idp.issuer, audience: stack.idp.apiResource });
  return stack;
}

/** A suite with its own verifying API and FAPI 2.0 stack, started before its tests and closed after. */
function fapi2Suite(
  title: string,
  signed: boolean,
  tests: (running: { api: VerifyingUpstream; stack: Stack }) => void,
) {
  describe(title, () => {
    const running = {} as { api: VerifyingUpstream; stack: Stack };
    before(async () => {
      running.api = await startVerifyingUpstream({ mode: 'dpop', providerCa: pki.ca.cert, tls });
      running.stack = await fapi2Stack(running.api, signed);
    });
    after(async () => {
      await running.stack.close();
      await running.api.close();
    });
    tests(running);
  });
}

fapi2Suite(
  'FAPI 2.0 with message signing: PAR with JAR, private_key_jwt, DPoP with nonces, PS256, JARM, over TLS',
  true,
  (running) => {
    it('signs in, calls the API with proofs, refreshes and logs out', async () => {
      const { api, stack } = running;
      const browser = new TestBrowser({ ca: pki.ca.cert });
      const login = await browser.request(`${stack.app}/api/auth/login`, { navigate: true });
      const location = new URL(login.headers.get('location')!);
      assert.deepEqual([...location.searchParams.keys()].sort(), ['client_id', 'request_uri'], 'only a PAR reference');

      const callback = await signIn(browser, stack);
      assert.equal(callback.status, 302, callback.body);
      const code = stack.idp.grants.find((g) => g.ok && g.grantType === 'authorization_code')!;
      const [accessToken, , idToken] = code.tokens;
      assert.equal(typeof (decodeJwt(accessToken!).cnf as { jkt?: unknown }).jkt, 'string', 'DPoP-bound');
      assert.equal(decodeProtectedHeader(idToken!).alg, 'PS256');

      const verdicts = () => api.verdicts.map((v) => [v.path, v.ok]);
      assert.equal((await browser.api(`${stack.app}/api/orders/1`)).status, 200);
      await sleep(TOKEN_TTL_S * 1000 + 200);
      assert.equal((await browser.api(`${stack.app}/api/orders/2`)).status, 200);
      assert.deepEqual(verdicts().slice(-2), [
        ['/orders/1', true],
        ['/orders/2', true],
      ]);
      const refreshes = stack.idp.grants.filter((g) => g.grantType === 'refresh_token' && g.ok);
      assert.equal(refreshes.length, 1, 'one refresh, bound to the same key');
      assert.equal(
        (decodeJwt(refreshes[0]!.tokens[0]!).cnf as { jkt: string }).jkt,
        (decodeJwt(accessToken!).cnf as { jkt: string }).jkt,
      );

      assert.deepEqual(leakedTokens(browser, stack), []);
      // RP-initiated logout: the end-session URL carries the ID token as id_token_hint, by design.
      const logout = await browser.api(`${stack.app}/api/auth/logout`, { method: 'POST' });
      assert.equal(logout.status, 200);
      assert.equal((await browser.api(`${stack.app}/api/orders/3`)).status, 401);
    });
  },
);

fapi2Suite('FAPI 2.0, plain responses', false, (running) => {
  it('refuses an authorization response without iss, before any token request', async () => {
    const { stack } = running;
    const browser = new TestBrowser({ ca: pki.ca.cert });
    const url = await authorizationResponse(browser, stack);
    url.searchParams.delete('iss');
    const grants = stack.idp.grants.length;
    const callback = await browser.request(url.href, {
      navigate: true,
      from: stack.idp.issuer,
      headers: { accept: 'application/json' },
    });
    assert.equal(callback.status, 400);
    assert.equal(JSON.parse(callback.body).error, 'login_failed');
    assert.equal(stack.idp.grants.length, grants, 'no token request');
  });
});
