/**
 * OpenID Connect Back-Channel Logout 1.0 (errata 1), §2.4 and §2.6: validating a logout token.
 * Any failure is `invalid_logout_token` (HTTP 400) and ends nothing.
 */
import { createRemoteJWKSet, customFetch, errors as joseErrors, jwtVerify, type JWTPayload } from 'jose';
import { GatehouseError } from '../errors.js';

export const BACKCHANNEL_LOGOUT_EVENT = 'http://schemas.openid.net/event/backchannel-logout';
/** Logout tokens far larger than this are not logout tokens. */
const MAX_TOKEN_LENGTH = 16 * 1024;
/** How old (by iat) a logout token may be when it arrives. */
const MAX_AGE_SECONDS = 300;

export interface LogoutRequest {
  iss: string;
  sub?: string;
  sid?: string;
  jti: string;
  /** Epoch seconds: until when the jti must be remembered. */
  exp: number;
}

export class LogoutTokenValidator {
  readonly #jwks: ReturnType<typeof createRemoteJWKSet>;

  constructor(
    private readonly expected: {
      issuer: string;
      clientId: string;
      algorithms: string[];
      jwksUri: string;
      /** How the provider is reached (its CA, the client certificate). */
      fetch?: (url: string, options: RequestInit) => Promise<Response>;
    },
  ) {
    this.#jwks = createRemoteJWKSet(new URL(expected.jwksUri), expected.fetch ? { [customFetch]: expected.fetch } : {});
  }

  async validate(token: unknown): Promise<LogoutRequest> {
    if (typeof token !== 'string' || token.length === 0 || token.length > MAX_TOKEN_LENGTH) {
      throw invalid('logout_token missing or oversized');
    }
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, this.#jwks, {
        issuer: this.expected.issuer,
        audience: this.expected.clientId,
        algorithms: this.expected.algorithms,
        typ: 'logout+jwt',
        requiredClaims: ['iat', 'exp', 'jti'],
        maxTokenAge: MAX_AGE_SECONDS,
        clockTolerance: 30,
      }));
    } catch (error) {
      if (error instanceof joseErrors.JOSEError) throw invalid(`${error.code}: ${error.message}`, error);
      throw new GatehouseError('idp_unavailable', { cause: error, detail: 'could not load the provider keys' });
    }
    const events = payload.events as Record<string, unknown> | undefined;
    const event = events?.[BACKCHANNEL_LOGOUT_EVENT];
    if (typeof event !== 'object' || event === null || Array.isArray(event))
      throw invalid('no back-channel logout event');
    if ('nonce' in payload) throw invalid('a logout token must not contain a nonce');
    const { sub, sid, jti, exp } = payload as { sub?: unknown; sid?: unknown; jti: unknown; exp: number };
    if (sub !== undefined && typeof sub !== 'string') throw invalid('sub is not a string');
    if (sid !== undefined && typeof sid !== 'string') throw invalid('sid is not a string');
    if (sub === undefined && sid === undefined) throw invalid('neither sub nor sid');
    if (typeof jti !== 'string' || jti.length === 0) throw invalid('jti is not a string');
    return { iss: this.expected.issuer, sub, sid, jti, exp };
  }
}

function invalid(detail: string, cause?: unknown): GatehouseError {
  return new GatehouseError('invalid_logout_token', { detail, cause });
}
