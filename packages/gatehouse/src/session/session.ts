/** The session model: what Gatehouse keeps server-side for one signed-in browser. */
import { randomBytes } from 'node:crypto';
import { decodeJwt, type JWK } from 'jose';

/** Tokens from the provider. They never leave the server. */
export interface TokenSet {
  accessToken: string;
  tokenType: string;
  /** Epoch milliseconds when Gatehouse received these tokens. */
  obtainedAt: number;
  /** Epoch milliseconds; undefined when the provider did not say. */
  expiresAt?: number;
  refreshToken?: string;
  idToken?: string;
  scope?: string;
}

export interface SessionData {
  /** Format version, so stored sessions can be migrated. */
  v: 1;
  iss: string;
  sub: string;
  /** The provider signed in with (a key of oidc.providers); absent: the default one (oidc). */
  provider?: string;
  /** The provider's session id (`sid` claim), for back-channel logout. */
  sid?: string;
  tokens: TokenSet;
  /**
   * Access tokens for single APIs, by what they are for (see tokens/derived-tokens.ts): from the
   * refresh token with a resource indicator (RFC 8707), or by token exchange (RFC 8693).
   */
  derived?: Record<string, TokenSet>;
  /** The private DPoP key the tokens are bound to (senderConstraint "dpop"): sealed with the session, so every instance can prove possession. */
  dpopKey?: JWK;
  /** Epoch milliseconds of sign-in. */
  createdAt: number;
  /** Epoch milliseconds of the last recorded activity (recorded at most once per touch interval). */
  touchedAt: number;
  /** Epoch milliseconds when the session ends regardless of activity (absolute timeout). */
  expiresAt: number;
  /** Random value bound to this session that authorises the GET logout link. */
  logoutKey: string;
}

/** When the session's tokens last changed (any of them): newer data wins where two copies meet (cookie mode). */
export function tokensChangedAt(data: SessionData): number {
  let latest = data.tokens.obtainedAt;
  for (const token of Object.values(data.derived ?? {})) latest = Math.max(latest, token.obtainedAt);
  return latest;
}

/** Session ids: 256 bits from the CSPRNG, base64url, 43 characters, meaning nothing. */
export function newSessionId(): string {
  return randomBytes(32).toString('base64url');
}

const SESSION_ID = /^[A-Za-z0-9_-]{43}$/;

/** Cheap shape check run before any store lookup, so junk cookies cost nothing. */
export function isSessionId(value: string | undefined): value is string {
  return value !== undefined && value.length === 43 && SESSION_ID.test(value);
}

/** Claims that are protocol plumbing, not facts about the user: kept out of /auth/user. */
const PROTOCOL_CLAIMS = new Set(['aud', 'azp', 'exp', 'iat', 'nbf', 'jti', 'nonce', 'at_hash', 'c_hash', 's_hash']);

/**
 * The claims of the session's (latest, already validated) ID token that the SPA may see. They are
 * read from the stored ID token rather than stored twice: sessions stay small.
 */
export function userClaims(tokens: TokenSet): Record<string, unknown> {
  const claims = tokens.idToken ? decodeJwt(tokens.idToken) : {};
  return Object.fromEntries(Object.entries(claims).filter(([name]) => !PROTOCOL_CLAIMS.has(name)));
}
