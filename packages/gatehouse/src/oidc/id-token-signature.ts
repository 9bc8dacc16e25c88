/**
 * The ID token's signature, checked against the provider's JWKS on the one configured algorithm
 * (openid-client has already checked its claims: iss, aud, azp, exp, nonce, and that iat is
 * present; an iat in the future is refused here, as neither library does). It is checked
 * here rather than by openid-client so that a `kid` the cached JWKS lacks makes Gatehouse fetch the
 * JWKS once more (the provider rotated its keys) before refusing the token; openid-client would
 * refuse for a minute after each fetch. Only the token endpoint (over TLS, with client
 * authentication) hands out ID tokens, so the refetch cannot be driven by a browser.
 *
 * An encrypted ID token (JWE) is decrypted here too, so the session keeps the signed token.
 */
import { createRemoteJWKSet, customFetch, jwtVerify, type JWTPayload, type JWTVerifyGetKey } from 'jose';
import { GatehouseError } from '../errors.js';

/** Clock skew allowed between Gatehouse and the provider, as openid-client allows by default. */
const CLOCK_TOLERANCE_S = 30;

export interface IdTokenKeys {
  jwksUri: string;
  algorithm: string;
  issuer: string;
  clientId: string;
  fetch: (url: string, options: RequestInit) => Promise<Response>;
  /** Opens an encrypted (JWE) ID token; rejects when no key fits. */
  decrypt: (jwe: string) => Promise<string>;
}

export class IdTokenSignature {
  readonly #jwks: JWTVerifyGetKey;

  constructor(private readonly options: IdTokenKeys) {
    // No cooldown: an unknown kid always gets one fresh look at the provider's keys.
    this.#jwks = createRemoteJWKSet(new URL(options.jwksUri), {
      cooldownDuration: 0,
      [customFetch]: options.fetch,
    });
  }

  /** The signed ID token (decrypted first when it came encrypted), once its signature verifies. */
  async verified(idToken: string, step: string): Promise<string> {
    const signed = idToken.split('.').length === 5 ? await this.#decrypt(idToken, step) : idToken;
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(signed, this.#jwks, {
        algorithms: [this.options.algorithm],
        issuer: this.options.issuer,
        audience: this.options.clientId,
        clockTolerance: CLOCK_TOLERANCE_S,
      }));
    } catch (error) {
      const code = (error as { code?: string }).code ?? 'error';
      if (code === 'ERR_JWKS_TIMEOUT' || error instanceof TypeError) {
        throw new GatehouseError('idp_unavailable', {
          cause: error,
          detail: `${step}: could not load the provider keys`,
        });
      }
      throw new GatehouseError(step === 'refresh' ? 'session_expired' : 'login_failed', {
        cause: error,
        detail: `${step}: ID token signature refused (${code})`,
      });
    }
    // OIDC Core §3.1.3.7 (10): iat must be plausible. jose checks it only against a maximum age.
    if (typeof payload.iat !== 'number' || payload.iat > Date.now() / 1000 + CLOCK_TOLERANCE_S) {
      throw new GatehouseError(step === 'refresh' ? 'session_expired' : 'login_failed', {
        detail: `${step}: ID token iat is missing or in the future`,
      });
    }
    return signed;
  }

  async #decrypt(jwe: string, step: string): Promise<string> {
    try {
      return await this.options.decrypt(jwe);
    } catch (error) {
      throw new GatehouseError(step === 'refresh' ? 'session_expired' : 'login_failed', {
        cause: error,
        detail: `${step}: encrypted ID token could not be decrypted`,
      });
    }
  }
}
