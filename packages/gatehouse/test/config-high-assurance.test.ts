/**
 * Configuration of the high-assurance client: what each client authentication method and sender
 * constraint needs, keys and certificates checked at boot (readable, private, strong enough, the
 * right algorithm, unique kids), the fapi2 profile's defaults and the settings it refuses, each
 * problem naming its key; and the README's example, which must load as written.
 */
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { loadConfigText, parseConfig } from '../src/config/load.js';
import type { GatehouseConfigInput } from '../src/config/schema.js';
import { createTestPki } from './support/certificates.js';
import { problemsOf } from './support/config.js';

const base = (oidc: Partial<GatehouseConfigInput['oidc']> = {}, extra: Partial<GatehouseConfigInput> = {}) => ({
  publicUrl: 'https://app.example.com',
  oidc: { issuer: 'https://login.example.com', clientId: 'bff', ...oidc },
  session: { secrets: ['s'.repeat(40)] },
  ...extra,
});

const dir = mkdtempSync(join(tmpdir(), 'gatehouse-keys-'));
function keyFile(name: string, pem: string | Buffer): string {
  const file = join(dir, name);
  writeFileSync(file, pem);
  return file;
}
const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const ecPem = keyFile('ec.pem', ec.privateKey.export({ type: 'pkcs8', format: 'pem' }));
const ecJwk = JSON.stringify(ec.privateKey.export({ format: 'jwk' }));
const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
const rsaPem = keyFile('rsa.pem', rsa.export({ type: 'pkcs8', format: 'pem' }));

describe('client authentication settings', () => {
  it('needs a secret for the secret methods, and refuses one for the others', () => {
    assert.deepEqual(problemsOf(base()), ['oidc.clientSecret: is required with clientAuth "client_secret_basic"']);
    assert.deepEqual(
      problemsOf(base({ clientAuth: 'private_key_jwt', clientSecret: 'x', signingKeys: [{ file: ecPem }] })),
      ['oidc.clientSecret: not used with clientAuth "private_key_jwt"; remove it'],
    );
  });

  it('private_key_jwt needs a key; keys are read at boot and must be private, strong and fit their algorithm', () => {
    assert.deepEqual(problemsOf(base({ clientAuth: 'private_key_jwt' })), [
      'oidc.signingKeys: at least one key is required with clientAuth "private_key_jwt"',
    ]);
    const weak = keyFile(
      'weak.pem',
      generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey.export({ type: 'pkcs8', format: 'pem' }),
    );
    const p384 = keyFile(
      'p384.pem',
      generateKeyPairSync('ec', { namedCurve: 'P-384' }).privateKey.export({ type: 'pkcs8', format: 'pem' }),
    );
    const publicOnly = JSON.stringify(ec.publicKey.export({ format: 'jwk' }));
    const problems = problemsOf(
      base({
        clientAuth: 'private_key_jwt',
        signingKeys: [
          { file: join(dir, 'missing.pem') },
          { file: weak },
          { file: p384 },
          { key: publicOnly },
          { file: ecPem, alg: 'PS256' },
          { file: rsaPem, kid: 'same' },
          { key: ecJwk, kid: 'same' },
        ],
      }),
    );
    assert.deepEqual(problems, [
      `oidc.signingKeys[0]: cannot read ${join(dir, 'missing.pem')}: ENOENT`,
      'oidc.signingKeys[1]: RSA keys must have at least 2048 bits (this one has 1024)',
      'oidc.signingKeys[2]: ES256 needs a P-256 key (this one is on secp384r1)',
      'oidc.signingKeys[3]: expected a private key (PEM, or a JWK with its private members)',
      'oidc.signingKeys[4]: PS256 does not fit an EC key',
      'oidc.signingKeys[6].kid: "same" is used by another key',
    ]);
    // Each key names exactly one source.
    assert.deepEqual(problemsOf(base({ clientAuth: 'private_key_jwt', signingKeys: [{ file: ecPem, key: ecJwk }] })), [
      'oidc.signingKeys[0]: expected exactly one of "file" or "key"',
    ]);
  });

  it("checks that a key's certificate is for that key", () => {
    const pki = createTestPki();
    assert.deepEqual(
      problemsOf(
        base({ clientAuth: 'private_key_jwt', signingKeys: [{ file: ecPem, certFile: pki.client.certFile }] }),
      ),
      [`oidc.signingKeys[0]: the certificate in ${pki.client.certFile} is not for this key`],
    );
    assert.doesNotThrow(() =>
      parseConfig(
        base({
          clientAuth: 'private_key_jwt',
          signingKeys: [{ file: pki.client.keyFile, certFile: pki.client.certFile }],
        }),
      ),
    );
  });

  it('accepts keys from PEM files and from JWK text, with their algorithms settled', () => {
    const config = parseConfig(
      base({
        clientAuth: 'private_key_jwt',
        signingKeys: [{ file: ecPem }, { key: ecJwk, kid: 'b' }, { file: rsaPem }],
      }),
    );
    assert.equal(config.oidc.signingKeys.length, 3);
    assert.equal(config.oidc.clientAuth, 'private_key_jwt');
  });

  it('mutual TLS needs a certificate and its own key; the files are checked at boot', () => {
    const pki = createTestPki();
    assert.deepEqual(problemsOf(base({ clientAuth: 'tls_client_auth' })), [
      'oidc.tls: certFile and keyFile are required with clientAuth "tls_client_auth"',
    ]);
    assert.deepEqual(problemsOf(base({ clientAuth: 'tls_client_auth', tls: { certFile: pki.client.certFile } })), [
      'oidc.tls: certFile and keyFile are required with clientAuth "tls_client_auth"',
      'oidc.tls: certFile and keyFile go together',
    ]);
    assert.deepEqual(
      problemsOf(
        base({
          clientAuth: 'tls_client_auth',
          tls: { certFile: pki.client.certFile, keyFile: pki.selfSigned.keyFile },
        }),
      ),
      ['oidc.tls.keyFile: does not belong to the certificate in certFile'],
    );
    const config = parseConfig(
      base({ clientAuth: 'tls_client_auth', tls: { certFile: pki.client.certFile, keyFile: pki.client.keyFile } }),
    );
    assert.equal(config.oidc.clientAuth, 'tls_client_auth');
  });

  it('certificate-bound tokens go only to https upstreams', () => {
    const pki = createTestPki();
    const problems = problemsOf(
      base(
        {
          clientSecret: 'x',
          senderConstraint: 'mtls',
          tls: { certFile: pki.client.certFile, keyFile: pki.client.keyFile },
        },
        {
          routes: [
            { path: '/a', upstream: 'http://a.internal' },
            { path: '/b', upstream: 'https://b.internal' },
            { path: '/c', upstream: 'http://c.internal', token: 'none' },
          ],
          upstreams: { d: { url: 'http://d.internal' } },
        },
      ),
    );
    assert.deepEqual(problems, [
      'routes[0].upstream: senderConstraint "mtls" needs an https upstream',
      'upstreams.d.url: senderConstraint "mtls" needs an https upstream',
    ]);
  });

  it('refuses request-object encryption without request objects, and dpop_jkt among authorization parameters', () => {
    assert.deepEqual(
      problemsOf(
        base({
          clientSecret: 'x',
          requestObject: 'never',
          requestObjectEncryption: { alg: 'RSA-OAEP-256' },
          authorizationParams: { dpop_jkt: 'x' },
        }),
      ),
      [
        'oidc.authorizationParams.dpop_jkt: set by Gatehouse itself and cannot be configured',
        'oidc.requestObjectEncryption: needs request objects; requestObject is "never"',
      ],
    );
  });
});

describe('the fapi2 profile', () => {
  it('turns on PAR, private_key_jwt, DPoP and PS256 by default', () => {
    const config = parseConfig(base({ profile: 'fapi2', signingKeys: [{ file: ecPem }] }));
    assert.equal(config.oidc.pushedAuthorizationRequests, 'always');
    assert.equal(config.oidc.clientAuth, 'private_key_jwt');
    assert.equal(config.oidc.senderConstraint, 'dpop');
    assert.equal(config.oidc.idTokenSigningAlg, 'PS256');
  });

  it('refuses every setting that breaks it, each named', () => {
    const problems = problemsOf(
      base({
        profile: 'fapi2',
        clientAuth: 'client_secret_post',
        clientSecret: 'x',
        pushedAuthorizationRequests: 'auto',
        senderConstraint: 'none',
        idTokenSigningAlg: 'RS256',
        signingKeys: [{ file: rsaPem, alg: 'RS256' }],
      }),
    );
    assert.deepEqual(problems, [
      'oidc.signingKeys[0].alg: RS256 is not allowed by the fapi2 profile (PS256, ES256, EdDSA)',
      'oidc.clientAuth: the fapi2 profile requires "private_key_jwt", "tls_client_auth" or "self_signed_tls_client_auth"',
      'oidc.pushedAuthorizationRequests: the fapi2 profile requires "always"',
      'oidc.senderConstraint: the fapi2 profile requires "dpop" or "mtls"',
      'oidc.idTokenSigningAlg: the fapi2 profile requires PS256, ES256, EdDSA',
    ]);
  });

  it('signs with PS256 by default when given an RSA key', () => {
    assert.doesNotThrow(() => parseConfig(base({ profile: 'fapi2', signingKeys: [{ file: rsaPem }] })));
  });
});

describe('README', () => {
  it('its configuration example loads as written', () => {
    const readme = readFileSync(new URL('../../../README.md', import.meta.url), 'utf8');
    const example = /## Use it[^]*?```yaml\n([^]*?)```/.exec(readme)![1]!;
    const config = loadConfigText(example, {
      source: 'README.md',
      env: { OIDC_CLIENT_SECRET: 'client-secret', GATEHOUSE_SECRET: 'g'.repeat(40) },
    });
    assert.equal(config.session.secrets[0], 'g'.repeat(40));
  });
});
