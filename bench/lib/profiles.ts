/**
 * The sender-constrained targets: `gh-dpop` (the plain profile with DPoP-bound tokens) and
 * `gh-fapi2` (`profile: fapi2`: PAR, private_key_jwt, DPoP with provider nonces, PS256 ID tokens).
 * Both are Gatehouse with the memory store, so `gh-memory` (Bearer tokens) is their plain twin.
 *
 * `gh-fapi2` has a provider of its own. FAPI 2.0 allows no RS256, and the demo provider signs
 * everything (ID tokens, JWT access tokens) with its one key: switching the shared provider to
 * PS256 would change what every other target verifies, express-oidc included. A second demo
 * provider in the same process, in oidc-provider's FAPI 2.0 mode and demanding PAR and DPoP nonces
 * of every client, leaves the main one as it was: no PAR (the demo's default, so the plain targets'
 * `pushedAuthorizationRequests: auto` stays plain), no DPoP nonces, RS256.
 */
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import type { DemoClient, DemoIdpOptions } from '../../examples/demo/src/idp.js';
import type { BenchIdp, GrantEvent } from './idp.js';

export type SenderProfile = 'dpop' | 'fapi2';

/** Targets signed in at the FAPI 2.0 provider; every other one uses the main provider. */
export const FAPI2_TARGETS: readonly string[] = ['gh-fapi2'];

/** What the FAPI 2.0 provider adds to the demo provider's options. */
export function fapi2Provider(): Pick<DemoIdpOptions, 'signingAlg' | 'features'> {
  return {
    signingAlg: 'PS256',
    features: {
      fapi: { enabled: true, profile: '2.0' },
      pushedAuthorizationRequests: { enabled: true, requirePushedAuthorizationRequests: true },
      // A nonce at the PAR and token endpoints: the round trips a FAPI 2.0 provider may ask for.
      dPoP: { enabled: true, nonceSecret: randomBytes(32), requireNonce: () => true },
    },
  };
}

/**
 * Gatehouse's private_key_jwt key, one per run (JWK JSON with a kid): the provider reads its
 * public half from Gatehouse's JWKS and caches it, and every start of `gh-fapi2` must sign with it.
 */
const CLIENT_KEY = JSON.stringify({
  ...generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'jwk' }),
  kid: `bench-${randomBytes(4).toString('hex')}`,
});

/** The provider's registration of a target with this profile (`app`: the target's origin). */
export function profileClient(profile: SenderProfile, client: DemoClient, app: string): DemoClient {
  if (profile === 'dpop') return { ...client, metadata: { dpop_bound_access_tokens: true } };
  const { clientSecret: _unused, ...rest } = client;
  return {
    ...rest,
    tokenEndpointAuthMethod: 'private_key_jwt',
    metadata: {
      jwks_uri: `${app}/api/auth/jwks`,
      token_endpoint_auth_signing_alg: 'ES256',
      dpop_bound_access_tokens: true,
    },
  };
}

/**
 * Gatehouse's `oidc` settings for the profile, over the bench's (fapi2 settles PAR, client
 * authentication, DPoP and PS256 itself). An undefined value removes the bench's setting: a fapi2
 * client has no secret, and Gatehouse refuses one it would not use.
 */
export function profileOidc(profile: SenderProfile): Record<string, unknown> {
  if (profile === 'dpop') return { senderConstraint: 'dpop' };
  return { profile: 'fapi2', clientSecret: undefined, signingKeys: [{ key: CLIENT_KEY }] };
}

/** How a client's sign-ins went at the provider since a moment, from its grant and PAR events. */
export interface ProfileEvidence {
  /** Authorization-code grants the provider completed (one per sign-in). */
  codeGrants: number;
  pushes: number;
  /** Refusals at the token and PAR endpoints that asked for a DPoP nonce, i.e. the retries it cost. */
  nonceDemands: number;
  /** Any other refusal, e.g. "invalid_client: ...". */
  otherRefusals: string[];
  clientAuth: string[];
  tokenTypes: string[];
  idTokenAlgs: string[];
}

export function profileEvidence(idp: BenchIdp, clientId: string, since: number): ProfileEvidence {
  const events = idp.events.filter((e) => e.clientId === clientId && e.at >= since);
  const codes = events.filter((e) => e.type === 'authorization_code' && e.ok);
  const refusals = events.filter((e) => !e.ok);
  const nonce = (e: GrantEvent) => e.error?.startsWith('use_dpop_nonce') ?? false;
  const distinct = (values: (string | undefined)[]) => [...new Set(values.map(String))];
  return {
    codeGrants: codes.length,
    pushes: events.filter((e) => e.type === 'par' && e.ok).length,
    nonceDemands: refusals.filter(nonce).length,
    otherRefusals: distinct(refusals.filter((e) => !nonce(e)).map((e) => e.error)),
    clientAuth: distinct(codes.map((e) => e.clientAuth)),
    tokenTypes: distinct(codes.map((e) => e.tokenType)),
    idTokenAlgs: distinct(codes.map((e) => e.idTokenAlg)),
  };
}

/**
 * What is wrong with those sign-ins for the profile, or '' when each one went the profile's way:
 * DPoP-bound tokens; for fapi2 also a pushed request per sign-in, private_key_jwt and PS256.
 */
export function profileMismatch(profile: SenderProfile, e: ProfileEvidence): string {
  const wrong: string[] = [];
  const only = (what: string, seen: string[], expected: string) => {
    if (seen.length !== 1 || seen[0] !== expected) wrong.push(`${what} ${seen.join(', ')} (expected ${expected})`);
  };
  if (e.codeGrants === 0) wrong.push('no sign-in reached the token endpoint');
  only('token type', e.tokenTypes, 'DPoP');
  if (profile === 'fapi2') {
    only('client authentication', e.clientAuth, 'private_key_jwt');
    only('ID token alg', e.idTokenAlgs, 'PS256');
    if (e.pushes < e.codeGrants) wrong.push(`${e.pushes} pushed requests for ${e.codeGrants} sign-ins`);
  }
  if (e.otherRefusals.length) wrong.push(`refused: ${e.otherRefusals.join('; ')}`);
  return wrong.join('; ');
}

/** One line for the log: how the sign-ins went. */
export function describeEvidence(e: ProfileEvidence): string {
  return (
    `${e.codeGrants} code grants (${e.tokenTypes.join('/')} tokens, ${e.clientAuth.join('/')}, ` +
    `ID tokens ${e.idTokenAlgs.join('/')}), ${e.pushes} pushed requests, ${e.nonceDemands} DPoP nonce demands`
  );
}
