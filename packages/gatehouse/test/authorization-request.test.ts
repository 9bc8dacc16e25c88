/**
 * The authorization request and response in every form a high-assurance provider may demand, each
 * against the real provider configured to demand it: pushed authorization requests (RFC 9126),
 * signed and encrypted request objects (RFC 9101), JWT-secured responses (JARM, signed and
 * encrypted), and form_post responses delivered cross-site (with the transaction cookie's SameSite
 * rules that makes work).
 */
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { describe, it } from 'node:test';
import { decodeProtectedHeader } from 'jose';
import type { GatehouseConfigInput } from '../src/config/schema.js';
import type { DemoIdpOptions } from '../../../examples/demo/src/idp.js';
import { TestBrowser } from './support/browser.js';
import { deliver, providerAnswer, signIn, startStack, type Stack, type StackOptions } from './support/stack.js';

type OidcChange = Partial<GatehouseConfigInput['oidc']>;

/** A stack whose provider has `features` and whose Gatehouse has `oidc` changed; `run` gets it, and it is closed after. */
async function withStack(
  setup: {
    features?: DemoIdpOptions['features'];
    idp?: Partial<DemoIdpOptions>;
    oidc?: OidcChange;
    client?: StackOptions['client'];
  },
  run: (stack: Stack) => Promise<void>,
): Promise<void> {
  const stack = await startStack({
    idp: { ...setup.idp, features: setup.features },
    client: setup.client,
    gatehouse: (d) => ({ ...d, oidc: { ...d.oidc, ...setup.oidc } }),
  });
  try {
    await run(stack);
  } finally {
    await stack.close();
  }
}

/** Where /auth/login sends the browser. */
async function authorizationRedirect(stack: Stack): Promise<URL> {
  const response = await new TestBrowser().request(`${stack.app}/api/auth/login`, { navigate: true });
  assert.equal(response.status, 302, response.body);
  return new URL(response.headers.get('location')!);
}

async function assertSignsIn(stack: Stack): Promise<TestBrowser> {
  const browser = new TestBrowser();
  const callback = await signIn(browser, stack);
  assert.ok([302, 303].includes(callback.status), `${callback.status} ${callback.body}`);
  assert.equal((await browser.api(`${stack.app}/api/orders/1`)).status, 200);
  return browser;
}

/** A P-256 private key as a JWK string, for oidc.signingKeys / decryptionKeys. */
const ecKey = () =>
  JSON.stringify(generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'jwk' }));

const PAR = { pushedAuthorizationRequests: { enabled: true } };
const PAR_REQUIRED = { pushedAuthorizationRequests: { enabled: true, requirePushedAuthorizationRequests: true } };
const JAR_REQUIRED = { requestObjects: { enabled: true, requireSignedRequestObject: true } };
/** The provider verifies request objects with the keys Gatehouse publishes. */
const registeredKeys: StackOptions['client'] = (registration, app) => ({
  ...registration,
  metadata: { jwks_uri: `${app}/api/auth/jwks` },
});

describe('pushed authorization requests', () => {
  it('"auto" pushes the request when the provider offers PAR: the browser carries only client_id and request_uri', async () => {
    await withStack({ features: PAR }, async (stack) => {
      const location = await authorizationRedirect(stack);
      assert.deepEqual([...location.searchParams.keys()].sort(), ['client_id', 'request_uri']);
      await assertSignsIn(stack);
    });
  });

  it('"never" against a provider that requires PAR, and "always" against one without it: not ready, sign-in 503', async () => {
    for (const [features, pushed] of [
      [PAR_REQUIRED, 'never'],
      [{}, 'always'],
    ] as const) {
      await withStack({ features, oidc: { pushedAuthorizationRequests: pushed } }, async (stack) => {
        const login = await new TestBrowser().request(`${stack.app}/api/auth/login`, {
          navigate: true,
          headers: { accept: 'application/json' },
        });
        assert.equal(login.status, 503, pushed);
        assert.equal(JSON.parse(login.body).error, 'idp_unavailable');
        assert.equal((await fetch(`${stack.admin}/readyz`)).status, 503);
      });
    }
  });
});

describe('signed request objects', () => {
  it('are sent by value when the provider requires them and offers no PAR', async () => {
    const setup = {
      features: JAR_REQUIRED,
      client: registeredKeys,
      oidc: { signingKeys: [{ key: ecKey(), kid: 'jar-1' }] },
    };
    await withStack(setup, async (stack) => {
      const location = await authorizationRedirect(stack);
      assert.deepEqual([...location.searchParams.keys()].sort(), ['client_id', 'request']);
      assert.deepEqual(decodeProtectedHeader(location.searchParams.get('request')!), {
        alg: 'ES256',
        kid: 'jar-1',
        typ: 'oauth-authz-req+jwt',
      });
      await assertSignsIn(stack);
    });
  });

  it('are pushed inside PAR when both are required', async () => {
    await withStack(
      {
        features: { ...JAR_REQUIRED, ...PAR_REQUIRED },
        client: registeredKeys,
        oidc: { signingKeys: [{ key: ecKey() }] },
      },
      async (stack) => {
        const location = await authorizationRedirect(stack);
        assert.deepEqual([...location.searchParams.keys()].sort(), ['client_id', 'request_uri']);
        await assertSignsIn(stack);
      },
    );
  });

  it("are encrypted to the provider's key when configured (a nested JWT)", async () => {
    await withStack(
      {
        idp: { encryption: true },
        features: JAR_REQUIRED,
        client: registeredKeys,
        oidc: { signingKeys: [{ key: ecKey() }], requestObjectEncryption: { alg: 'RSA-OAEP-256' } },
      },
      async (stack) => {
        const request = (await authorizationRedirect(stack)).searchParams.get('request')!;
        assert.equal(request.split('.').length, 5, 'a JWE');
        assert.deepEqual(decodeProtectedHeader(request), {
          alg: 'RSA-OAEP-256',
          enc: 'A256GCM',
          cty: 'JWT',
          kid: 'enc-1',
        });
        await assertSignsIn(stack);
      },
    );
  });

  it('refuses to start without a signing key when the provider requires them', async () => {
    await withStack({ features: JAR_REQUIRED }, async (stack) => {
      const login = await new TestBrowser().request(`${stack.app}/api/auth/login`, {
        navigate: true,
        headers: { accept: 'application/json' },
      });
      assert.equal(login.status, 503);
    });
  });
});

describe('JWT-secured authorization responses (JARM)', () => {
  const JARM = { jwtResponseModes: { enabled: true } };

  it('query.jwt: the code arrives inside a signed response JWT', async () => {
    await withStack({ features: JARM, oidc: { responseMode: 'query.jwt' } }, async (stack) => {
      const answer = await providerAnswer(new TestBrowser(), stack);
      assert.deepEqual([...answer.url.searchParams.keys()], ['response']);
      await assertSignsIn(stack);
    });
  });

  it("jwt, encrypted to Gatehouse's published key: decrypted, verified, signed in", async () => {
    await withStack(
      {
        idp: { encryption: true },
        features: { ...JARM, encryption: { enabled: true } },
        client: (registration, app) => ({
          ...registration,
          metadata: {
            jwks_uri: `${app}/api/auth/jwks`,
            authorization_encrypted_response_alg: 'ECDH-ES',
            authorization_encrypted_response_enc: 'A256GCM',
          },
        }),
        oidc: { responseMode: 'jwt', decryptionKeys: [{ key: ecKey(), kid: 'jarm-enc' }] },
      },
      async (stack) => {
        const browser = new TestBrowser();
        const answer = await providerAnswer(browser, stack);
        const response = answer.url.searchParams.get('response')!;
        assert.equal(response.split('.').length, 5, 'an encrypted response');
        assert.equal(decodeProtectedHeader(response).kid, 'jarm-enc');
        const callback = await deliver(browser, stack, answer);
        assert.equal(callback.status, 302, callback.body);
        assert.equal((await browser.api(`${stack.app}/api/auth/user`)).status, 200);
      },
    );
  });
});

describe('form_post responses', () => {
  for (const responseMode of ['form_post', 'form_post.jwt'] as const) {
    it(`${responseMode}: the provider's page POSTs the response cross-site; the transaction cookie follows, the session cookie stays Strict`, async () => {
      await withStack({ features: { jwtResponseModes: { enabled: true } }, oidc: { responseMode } }, async (stack) => {
        const browser = new TestBrowser();
        const login = await browser.request(`${stack.app}/api/auth/login`, { navigate: true });
        const transaction = login.headers.getSetCookie().find((c) => c.startsWith('__Host-gatehouse-login-'))!;
        assert.match(transaction, /; SameSite=None/i);
        assert.match(transaction, /; Secure/i);
        assert.match(transaction, /; HttpOnly/i);

        const answer = await providerAnswer(browser, stack);
        assert.ok('form' in answer, 'the provider answered with a form');
        const fields = [...new URLSearchParams(answer.form).keys()].sort();
        assert.deepEqual(fields, responseMode === 'form_post' ? ['code', 'iss', 'state'] : ['response']);
        const callback = await deliver(browser, stack, answer);
        assert.equal(callback.status, 303, callback.body);
        const session = callback.headers.getSetCookie().find((c) => c.startsWith('__Host-gatehouse='))!;
        assert.match(session, /; SameSite=Strict/i);
        assert.equal((await browser.api(`${stack.app}/api/orders/1`)).status, 200);
      });
    });
  }

  it('refuses a callback POST that is not a form, and has no POST callback in query mode', async () => {
    await withStack({ oidc: { responseMode: 'form_post' } }, async (stack) => {
      const response = await new TestBrowser().request(`${stack.app}/api/auth/callback`, {
        method: 'POST',
        navigate: true,
        from: stack.idp.issuer,
        headers: { 'content-type': 'application/json', accept: 'application/json' },
        body: '{"code":"x","state":"y"}',
      });
      assert.equal(response.status, 400);
      assert.equal(JSON.parse(response.body).error, 'invalid_request');
    });
    await withStack({}, async (stack) => {
      const response = await new TestBrowser().request(`${stack.app}/api/auth/callback`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
        body: 'code=x&state=y',
      });
      assert.ok([404, 405].includes(response.status), String(response.status));
    });
  });
});
