/**
 * Client authentication with keys and certificates, against the real provider: private_key_jwt
 * (RFC 7523) with the provider fetching Gatehouse's own JWKS endpoint, key rotation (the first key
 * signs, the others stay published), and mutual TLS (RFC 8705) on a real TLS listener that checks
 * client certificates, at the provider's mtls_endpoint_aliases, PKI-signed and self-signed, with
 * certificate-bound tokens presented to an API that checks the binding.
 */
import assert from 'node:assert/strict';
import { createHash, generateKeyPairSync, X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import type { KoaContextWithOIDC } from 'oidc-provider';
import { TestBrowser } from './support/browser.js';
import { createTestPki, type TestPki } from './support/certificates.js';
import { redisUnavailable } from './support/redis.js';
import { startRuntimeStack } from './support/runtimes.js';
import { CLIENT_ID, signIn, startStack, type Stack, type StackOptions } from './support/stack.js';
import { startVerifyingUpstream, type VerifyingUpstream } from './support/verifying-upstream.js';

const skipRedis = await redisUnavailable();
const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'k', 'oth'];

/** Two signing keys: an EC key in a PEM file (listed first, so it signs) and an RSA key as a JWK from the environment. */
function signingKeyFiles(): { pemFile: string; rsaJwk: string } {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-keys-'));
  const pemFile = join(dir, 'signing.pem');
  writeFileSync(
    pemFile,
    generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' }),
  );
  const rsaJwk = JSON.stringify({
    ...generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'jwk' }),
    kid: 'rsa-previous',
  });
  return { pemFile, rsaJwk };
}

/** Every successful token request's client assertion and the port it arrived on, as the provider saw them. */
function recordClientAuth(stack: Pick<Stack, 'idp'>): { assertions: string[]; mtlsPorts: number[] } {
  const seen = { assertions: [] as string[], mtlsPorts: [] as number[] };
  stack.idp.provider.on('grant.success', (ctx: KoaContextWithOIDC) => {
    const body = (ctx.oidc as { body?: Record<string, unknown> }).body;
    if (typeof body?.client_assertion === 'string') seen.assertions.push(body.client_assertion);
    seen.mtlsPorts.push(ctx.req.socket.localPort ?? 0);
  });
  return seen;
}

describe('private_key_jwt', () => {
  let stack: Stack;
  let seen: ReturnType<typeof recordClientAuth>;
  const { pemFile, rsaJwk } = signingKeyFiles();
  before(async () => {
    process.env.GATEHOUSE_TEST_RSA_KEY = rsaJwk;
    stack = await startStack({
      client: ({ clientSecret: _secret, ...registration }, app) => ({
        ...registration,
        tokenEndpointAuthMethod: 'private_key_jwt',
        metadata: { jwks_uri: `${app}/api/auth/jwks`, token_endpoint_auth_signing_alg: 'ES256' },
      }),
      gatehouse: ({ oidc: { clientSecret: _secret, ...oidc }, ...d }) => ({
        ...d,
        oidc: {
          ...oidc,
          clientAuth: 'private_key_jwt',
          signingKeys: [{ file: pemFile, kid: 'ec-current' }, { key: process.env.GATEHOUSE_TEST_RSA_KEY! }],
        },
      }),
    });
    seen = recordClientAuth(stack);
  });
  after(() => stack.close());

  it('publishes the public halves of its keys, and nothing private', async () => {
    const response = await fetch(`${stack.app}/api/auth/jwks`);
    assert.equal(response.status, 200);
    assert.match(response.headers.get('content-type')!, /^application\/jwk-set\+json/);
    const { keys } = (await response.json()) as { keys: Record<string, unknown>[] };
    assert.deepEqual(
      keys.map((k) => [k.kid, k.kty, k.alg, k.use]),
      [
        ['ec-current', 'EC', 'ES256', 'sig'],
        ['rsa-previous', 'RSA', 'RS256', 'sig'],
      ],
    );
    for (const key of keys) for (const member of PRIVATE_MEMBERS) assert.equal(key[member], undefined, member);
  });

  it('signs in, calls the API and logs out, with client assertions signed by the first key', async () => {
    const browser = new TestBrowser();
    assert.equal((await signIn(browser, stack)).status, 302);
    assert.equal((await browser.api(`${stack.app}/api/orders/1`)).status, 200);
    const logout = await browser.api(`${stack.app}/api/auth/logout`, { method: 'POST' });
    assert.equal(logout.status, 200);

    assert.equal(seen.assertions.length, 1, 'the code grant carried an assertion');
    const refresh = stack.idp.grants.filter((g) => g.grantType === 'refresh_token');
    assert.equal(refresh.length, 0);
    const jtis = new Set<unknown>();
    for (const assertion of seen.assertions) {
      const header = decodeProtectedHeader(assertion);
      const claims = decodeJwt(assertion);
      assert.deepEqual([header.alg, header.kid], ['ES256', 'ec-current']);
      // FAPI 2.0 §5.3.2.1: aud is the issuer, as a plain string.
      assert.equal(claims.aud, stack.idp.issuer);
      assert.deepEqual([claims.iss, claims.sub], [CLIENT_ID, CLIENT_ID]);
      assert.ok(claims.exp! - claims.iat! <= 60, 'a short-lived assertion');
      jtis.add(claims.jti);
    }
    assert.equal(jtis.size, seen.assertions.length, 'a new jti for every assertion');
  });

  it('names the key by its certificate too when it has one (x5t#S256, x5t, x5c), as Entra ID requires', async () => {
    const pki = createTestPki();
    const certified = await startStack({
      client: ({ clientSecret: _secret, ...registration }, app) => ({
        ...registration,
        tokenEndpointAuthMethod: 'private_key_jwt',
        metadata: { jwks_uri: `${app}/api/auth/jwks` },
      }),
      gatehouse: ({ oidc: { clientSecret: _secret, ...oidc }, ...d }) => ({
        ...d,
        oidc: {
          ...oidc,
          clientAuth: 'private_key_jwt',
          signingKeys: [{ file: pki.client.keyFile, certFile: pki.client.certFile }],
        },
      }),
    });
    try {
      const seenHere = recordClientAuth(certified);
      assert.equal((await signIn(new TestBrowser(), certified)).status, 302);
      const der = new X509Certificate(readFileSync(pki.client.certFile)).raw;
      const header = decodeProtectedHeader(seenHere.assertions[0]!);
      assert.equal(header['x5t#S256'], createHash('sha256').update(der).digest('base64url'));
      assert.equal(header.x5t, createHash('sha1').update(der).digest('base64url'));
      const { keys } = (await (await fetch(`${certified.app}/api/auth/jwks`)).json()) as { keys: { x5c?: string[] }[] };
      assert.deepEqual(keys[0]!.x5c, [der.toString('base64')]);
    } finally {
      await certified.close();
    }
  });

  it('answers 404 at /auth/jwks when it has no keys to publish', async () => {
    const plain = await startStack();
    try {
      const response = await fetch(`${plain.app}/api/auth/jwks`);
      assert.equal(response.status, 404);
      assert.equal(((await response.json()) as { error: string }).error, 'not_found');
    } finally {
      await plain.close();
    }
  });
});

describe('mutual TLS', () => {
  let pki: TestPki;
  let api: VerifyingUpstream;
  before(async () => {
    pki = createTestPki();
    api = await startVerifyingUpstream({
      mode: 'mtls',
      providerCa: pki.ca.cert,
      tls: { key: pki.server.key, cert: pki.server.cert, ca: pki.ca.cert },
    });
  });
  after(() => api.close());

  /** A provider on HTTPS, Gatehouse authenticating with `certificate`, tokens bound to it, the API on HTTPS. */
  async function tlsStack(
    method: 'tls_client_auth' | 'self_signed_tls_client_auth',
    certificate: { certFile: string; keyFile: string },
    runtime: 'node' | 'lambda' = 'node',
  ) {
    const start = runtime === 'node' ? startStack : (options: StackOptions) => startRuntimeStack(runtime, options);
    const stack = await start({
      idp: { tls: { key: pki.server.key, cert: pki.server.cert, ca: pki.ca.cert } },
      client: ({ clientSecret: _secret, ...registration }, app) => ({
        ...registration,
        tokenEndpointAuthMethod: method,
        metadata: {
          tls_client_certificate_bound_access_tokens: true,
          ...(method === 'tls_client_auth'
            ? { tls_client_auth_subject_dn: pki.client.subject }
            : { jwks_uri: `${app}/api/auth/jwks` }),
        },
      }),
      gatehouse: ({ oidc: { clientSecret: _secret, allowInsecureHttp: _http, ...oidc }, ...d }) => ({
        ...d,
        oidc: {
          ...oidc,
          clientAuth: method,
          senderConstraint: 'mtls',
          tls: { ...certificate, caFile: pki.ca.certFile },
        },
        routes: [{ path: '/orders', upstream: `${api.url}/orders`, caFile: pki.ca.certFile }],
      }),
    });
    api.trust({ issuer: stack.idp.issuer, audience: stack.idp.apiResource });
    return stack;
  }

  // On Lambda too: the same Node code, its connections to the provider and the API through undici.
  for (const [method, runtime] of [
    ['tls_client_auth', 'node'],
    ['self_signed_tls_client_auth', 'node'],
    ['tls_client_auth', 'lambda'],
  ] as const) {
    it(
      `${method} on ${runtime}: signs in over the mTLS endpoint aliases, and the API sees the certificate its token is bound to`,
      { skip: runtime === 'lambda' && skipRedis },
      async () => {
        const { certFile, keyFile } = method === 'tls_client_auth' ? pki.client : pki.selfSigned;
        const stack = await tlsStack(method, { certFile, keyFile }, runtime);
        try {
          const seen = recordClientAuth(stack);
          const browser = new TestBrowser({ ca: pki.ca.cert });
          const callback = await signIn(browser, stack);
          assert.equal(callback.status, 302, callback.body);
          const mtlsPort = Number(new URL(stack.idp.mtlsOrigin!).port);
          assert.deepEqual(seen.mtlsPorts, [mtlsPort], 'the token request went to the mTLS alias');
          const code = stack.idp.grants.find((g) => g.ok && g.grantType === 'authorization_code')!;
          assert.equal(typeof (decodeJwt(code.tokens[0]!).cnf as Record<string, unknown>)['x5t#S256'], 'string');

          const before = api.verdicts.length;
          const response = await browser.api(`${stack.app}/api/orders/7`);
          assert.equal(response.status, 200, response.body);
          assert.deepEqual(
            api.verdicts.slice(before).map((v) => v.ok),
            [true],
          );
          if (method === 'self_signed_tls_client_auth') {
            const { keys } = (await (await fetch(`${stack.app}/api/auth/jwks`)).json()) as {
              keys: { x5c?: string[] }[];
            };
            assert.equal(keys.length, 1);
            assert.equal(keys[0]!.x5c?.length, 1, 'the certificate is published for the provider');
          }
        } finally {
          await stack.close();
        }
      },
    );
  }

  it('refuses to sign in when the provider does not accept the certificate, and stores nothing', async () => {
    // Registered for the PKI certificate's subject, but Gatehouse presents the self-signed one.
    const stack = await startStack({
      idp: { tls: { key: pki.server.key, cert: pki.server.cert, ca: pki.ca.cert } },
      client: ({ clientSecret: _secret, ...registration }) => ({
        ...registration,
        tokenEndpointAuthMethod: 'tls_client_auth',
        metadata: { tls_client_auth_subject_dn: pki.client.subject },
      }),
      gatehouse: ({ oidc: { clientSecret: _secret, allowInsecureHttp: _http, ...oidc }, ...d }) => ({
        ...d,
        oidc: {
          ...oidc,
          clientAuth: 'tls_client_auth',
          tls: { certFile: pki.selfSigned.certFile, keyFile: pki.selfSigned.keyFile, caFile: pki.ca.certFile },
        },
      }),
    });
    try {
      const browser = new TestBrowser({ ca: pki.ca.cert });
      const callback = await signIn(browser, stack);
      assert.equal(callback.status, 500);
      assert.match(callback.body, /server_error/);
      assert.ok(!callback.headers.getSetCookie().some((c) => /^__Host-gatehouse=[^;]/.test(c)), 'no session');
    } finally {
      await stack.close();
    }
  });
});
