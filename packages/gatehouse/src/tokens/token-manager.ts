/**
 * Which credential a proxied request carries, and keeping it fresh.
 *
 * User tokens are refreshed shortly before they expire, and at most once per session no matter how
 * many requests need it at the same moment, on this instance (single flight) or on several (a store
 * lock): the first caller runs the refresh-token grant, everyone else waits for its result. A
 * request that still holds the old token state after the refresh has finished re-reads the session
 * and uses the new token instead of refreshing again. Rotated refresh tokens replace the old one
 * before anyone can present it again.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { GatehouseConfig, RouteConfig } from '../config/load.js';
import { GatehouseError } from '../errors.js';
import type { OidcClient } from '../oidc/client.js';
import type { Metrics, RefreshOutcome } from '../ops/metrics.js';
import type { ActiveSession, SessionManager } from '../session/session-manager.js';
import type { SessionData, TokenSet } from '../session/session.js';
import { DpopKey, isDpopBound } from './dpop.js';
import { SingleFlight } from './single-flight.js';

/** Which token a route (or an extension's upstream) carries. */
export type TokenChoice = Pick<RouteConfig, 'token' | 'scope'>;

export interface Credential {
  kind: 'user' | 'client';
  token: TokenSet;
  /** The key that proves possession of a DPoP-bound token; undefined for a bearer token. */
  dpop?: DpopKey;
}

/** After an upstream 401, a token younger than this is not refreshed again (the API refuses it for another reason). */
const MIN_TOKEN_AGE_FOR_RENEWAL_MS = 2_000;
/** An upstream may see a token as expired this long before Gatehouse does (clock skew, transit). */
const EXPIRY_MARGIN_MS = 1_000;
/** How often an instance waiting for another one's refresh looks again. */
const LOCK_POLL_MS = 25;

const REFRESH_OUTCOMES: Record<string, RefreshOutcome> = {
  session_expired: 'rejected',
  idp_unavailable: 'provider_unavailable',
};

export class TokenManager {
  readonly #refreshes = new SingleFlight<TokenSet>();
  readonly #clientTokens = new Map<string, TokenSet>();
  readonly #clientFetches = new SingleFlight<TokenSet>();
  readonly #skewMs: number;
  /** Longer than any refresh may take, so a lock only outlives a holder that died. */
  readonly #lockTtlMs: number;

  constructor(
    config: GatehouseConfig,
    private readonly oidc: OidcClient,
    private readonly sessions: SessionManager,
    private readonly metrics?: Metrics,
  ) {
    this.#skewMs = config.oidc.refreshSkew;
    this.#lockTtlMs = 2 * config.oidc.timeout + 1_000;
  }

  /** The credential a request on `route` carries (refreshed first when needed), or undefined for none. */
  async credentialFor(route: TokenChoice, session: ActiveSession | undefined): Promise<Credential | undefined> {
    if (route.token === 'none') return undefined;
    if (session && (route.token === 'user' || route.token === 'user-or-client')) {
      return this.#userCredential(session, await this.userTokens(session));
    }
    if (route.token === 'user') throw new GatehouseError('unauthenticated');
    return this.#clientCredential(await this.clientTokens(route.scope));
  }

  #userCredential(session: ActiveSession, token: TokenSet): Credential {
    const key = session.data.dpopKey;
    return { kind: 'user', token, dpop: key && isDpopBound(token.tokenType) ? DpopKey.fromJwk(key) : undefined };
  }

  #clientCredential(token: TokenSet): Credential {
    return { kind: 'client', token, dpop: isDpopBound(token.tokenType) ? this.oidc.clientDpopKey : undefined };
  }

  /**
   * After the upstream answered 401 to `used`: a newer credential to retry with, or undefined when
   * there is none to be had (the token was brand new, so refreshing would not help).
   */
  async renew(
    route: TokenChoice,
    session: ActiveSession | undefined,
    used: Credential,
  ): Promise<Credential | undefined> {
    // A token that expired on the way (or is about to: clocks differ) is renewed whatever its age.
    const expiring = used.token.expiresAt !== undefined && used.token.expiresAt - Date.now() < EXPIRY_MARGIN_MS;
    if (!expiring && Date.now() - used.token.obtainedAt < MIN_TOKEN_AGE_FOR_RENEWAL_MS) return undefined;
    const renewed =
      used.kind === 'user' && session
        ? this.#userCredential(session, await this.userTokens(session, used.token.accessToken))
        : this.#clientCredential(await this.clientTokens(route.scope, used.token.accessToken));
    return renewed.token.accessToken === used.token.accessToken ? undefined : renewed;
  }

  /**
   * The session's tokens, refreshed when (nearly) expired or when `stale` (a token an upstream
   * refused) is still the current one.
   */
  async userTokens(session: ActiveSession, stale?: string): Promise<TokenSet> {
    const tokens = session.data.tokens;
    if (stale === undefined && this.#isFresh(tokens)) return tokens;
    const fresh = await this.#refreshes.run(session.key, () => this.#refresh(session, stale ?? tokens.accessToken));
    session.data = { ...session.data, tokens: fresh };
    return fresh;
  }

  /**
   * Refreshes under the session's store lock, so instances sharing the store refresh it once between
   * them: whoever holds the lock runs the grant, the others wait and pick up the stored result. A
   * holder that dies leaves a lock that expires, after which a waiter takes over.
   */
  async #refresh(session: ActiveSession, stale: string): Promise<TokenSet> {
    const giveUpAt = Date.now() + 2 * this.#lockTtlMs;
    for (;;) {
      const current = await this.#current(session);
      // Someone else (here or on another instance) refreshed meanwhile: use their result.
      if (current.tokens.accessToken !== stale && this.#isFresh(current.tokens)) return current.tokens;
      const release = await this.sessions.lock(session.key, this.#lockTtlMs);
      if (release) {
        try {
          return await this.#refreshHolding(session, stale);
        } finally {
          await release().catch(() => {}); // an unreleased lock expires by itself
        }
      }
      if (Date.now() > giveUpAt) {
        throw new GatehouseError('idp_unavailable', { detail: 'waited too long for another instance to refresh' });
      }
      await sleep(LOCK_POLL_MS);
    }
  }

  async #current(session: ActiveSession): Promise<SessionData> {
    const current = await this.sessions.latest(session);
    if (!current) throw new GatehouseError('session_expired', { detail: 'session ended before its refresh' });
    return current;
  }

  async #refreshHolding(session: ActiveSession, stale: string): Promise<TokenSet> {
    // Re-read under the lock: the previous holder may have finished just before we got it.
    const current = await this.#current(session);
    if (current.tokens.accessToken !== stale && this.#isFresh(current.tokens)) return current.tokens;
    let refreshed: TokenSet;
    try {
      refreshed = await this.oidc.refresh(current.tokens, current.dpopKey);
      this.metrics?.refreshes.inc({ outcome: 'success' });
    } catch (error) {
      const code = error instanceof GatehouseError ? error.code : undefined;
      this.metrics?.refreshes.inc({ outcome: REFRESH_OUTCOMES[code ?? ''] ?? 'error' });
      // The provider said no (invalid_grant, a different user...): the session cannot continue.
      if (code === 'session_expired') await this.sessions.discard(session.key);
      throw error;
    }
    const data = { ...current, tokens: refreshed };
    // Only if the session still exists: a logout during the refresh must not be undone.
    if (!(await this.sessions.update({ ...session, data }))) {
      throw new GatehouseError('session_expired', { detail: 'session ended during its refresh' });
    }
    return refreshed;
  }

  /** A client-credentials token for `scope`, cached until shortly before it expires. */
  async clientTokens(scope: string | undefined, stale?: string): Promise<TokenSet> {
    const key = scope ?? '';
    const usable = () => {
      const cached = this.#clientTokens.get(key);
      return cached && cached.accessToken !== stale && this.#isFresh(cached) ? cached : undefined;
    };
    return (
      usable() ??
      this.#clientFetches.run(key, async () => {
        const again = usable();
        if (again) return again;
        const token = await this.oidc.clientCredentials(scope);
        this.#clientTokens.set(key, token);
        return token;
      })
    );
  }

  /** Revokes a session's refresh token and access token at the provider; failures are only logged by the caller. */
  async revoke(tokens: TokenSet): Promise<void> {
    if (tokens.refreshToken) await this.oidc.revoke(tokens.refreshToken, 'refresh_token');
    await this.oidc.revoke(tokens.accessToken, 'access_token').catch((error: unknown) => {
      // RFC 7009 2.2.1: a provider may be unable to revoke self-contained (JWT) access tokens.
      // That is expected, not a failure: such a token dies at its (short) expiry.
      if ((error as { error?: unknown }).error !== 'unsupported_token_type') throw error;
    });
  }

  /**
   * Fresh until `skew` before expiry; the skew is capped at half the token's lifetime so that
   * short-lived tokens are not refreshed on every request.
   */
  #isFresh(tokens: TokenSet): boolean {
    if (tokens.expiresAt === undefined) return true;
    const skew = Math.min(this.#skewMs, (tokens.expiresAt - tokens.obtainedAt) / 2);
    return Date.now() < tokens.expiresAt - skew;
  }
}
