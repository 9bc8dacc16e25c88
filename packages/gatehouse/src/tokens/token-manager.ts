/**
 * Which credential a proxied request carries, and keeping it fresh.
 *
 * User tokens are refreshed shortly before they expire, and at most once per session no matter how
 * many requests need it at the same moment, on this instance (single flight) or on several (a store
 * lock): the first caller runs the grant, everyone else waits for its result. A request that still
 * holds the old token state after the refresh has finished re-reads the session and uses the new
 * token instead of refreshing again. Rotated refresh tokens replace the old one before anyone can
 * present it again. Tokens for single APIs (derived-tokens.ts) are obtained the same way, each once
 * per session and expiry, under the same lock: a resource token uses (and rotates) the refresh token.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { GatehouseConfig, RouteConfig } from '../config/load.js';
import { GatehouseError } from '../errors.js';
import type { Providers } from '../oidc/providers.js';
import type { Metrics, RefreshOutcome } from '../ops/metrics.js';
import type { ActiveSession, SessionManager } from '../session/session-manager.js';
import type { SessionData, TokenSet } from '../session/session.js';
import { derivedSpec, exchangeGrant, resourceParameters, type DerivedSpec } from './derived-tokens.js';
import { DpopKey, isDpopBound } from './dpop.js';
import { SingleFlight } from './single-flight.js';

/** Which token a route (or an extension's upstream) carries. */
export type TokenChoice = Pick<RouteConfig, 'token' | 'scope' | 'resource'>;

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
  readonly #flights = new SingleFlight<{ data: SessionData; token: TokenSet }>();
  readonly #clientFetches = new SingleFlight<TokenSet>();
  readonly #clientTokens = new Map<string, TokenSet>();
  readonly #specs = new WeakMap<TokenChoice, DerivedSpec | undefined>();
  readonly #skewMs: number;
  /** Longer than any refresh may take, so a lock only outlives a holder that died. */
  readonly #lockTtlMs: number;

  constructor(
    config: GatehouseConfig,
    private readonly providers: Providers,
    private readonly sessions: SessionManager,
    private readonly metrics?: Metrics,
  ) {
    this.#skewMs = config.oidc.refreshSkew;
    this.#lockTtlMs = 2 * config.oidc.timeout + 1_000;
  }

  /** The credential a request on `route` carries (refreshed first when needed), or undefined for none. */
  credentialFor(route: TokenChoice, session: ActiveSession | undefined): Promise<Credential | undefined> {
    return this.#credential(route, session, undefined);
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
    const renewed = await this.#credential(route, used.kind === 'user' ? session : undefined, used.token.accessToken);
    return renewed && renewed.token.accessToken !== used.token.accessToken ? renewed : undefined;
  }

  /** The credential for `route`, renewed when `stale` (a token an upstream refused) is still current. */
  async #credential(
    route: TokenChoice,
    session: ActiveSession | undefined,
    stale: string | undefined,
  ): Promise<Credential | undefined> {
    if (route.token === 'none') return undefined;
    if (session && route.token !== 'client') {
      const spec = this.#specOf(route);
      const token = spec ? await this.derivedToken(session, spec, stale) : await this.userTokens(session, stale);
      const key = session.data.dpopKey;
      return { kind: 'user', token, dpop: key && isDpopBound(token.tokenType) ? DpopKey.fromJwk(key) : undefined };
    }
    if (route.token !== 'client' && route.token !== 'user-or-client') throw new GatehouseError('unauthenticated');
    const token = await this.clientTokens(route.scope, route.resource, stale);
    return {
      kind: 'client',
      token,
      dpop: isDpopBound(token.tokenType) ? this.providers.default.clientDpopKey : undefined,
    };
  }

  /** What `route` derives, worked out once per route (this runs on every proxied call). */
  #specOf(route: TokenChoice): DerivedSpec | undefined {
    if (!this.#specs.has(route)) this.#specs.set(route, derivedSpec(route));
    return this.#specs.get(route);
  }

  /**
   * The session's tokens, refreshed when (nearly) expired or when `stale` (a token an upstream
   * refused) is still the current one.
   */
  async userTokens(session: ActiveSession, stale?: string): Promise<TokenSet> {
    const { tokens } = session.data;
    if (stale === undefined && this.#isFresh(tokens)) return tokens;
    const spent = stale ?? tokens.accessToken;
    return this.#once(
      session,
      '',
      (data) => (data.tokens.accessToken !== spent && this.#isFresh(data.tokens) ? data.tokens : undefined),
      async (data) => {
        const refreshed = await this.#refreshed(session, () =>
          this.providers.of(data).refresh(data.tokens, data.dpopKey),
        );
        return { data: { ...data, tokens: refreshed }, token: refreshed };
      },
    );
  }

  /** The session's token for one API (`spec`), obtained once per expiry like the main token. */
  async derivedToken(session: ActiveSession, spec: DerivedSpec, stale?: string): Promise<TokenSet> {
    const current = session.data.derived?.[spec.key];
    if (stale === undefined && current && this.#isFresh(current)) return current;
    const spent = stale ?? current?.accessToken;
    // An exchange presents the user's own token, which must be fresh first.
    if (spec.kind === 'exchange') await this.userTokens(session);
    return this.#once(
      session,
      spec.key,
      (data) => {
        const token = data.derived?.[spec.key];
        return token && token.accessToken !== spent && this.#isFresh(token) ? token : undefined;
      },
      async (data) => {
        if (spec.kind === 'exchange') {
          const actor = spec.exchange.actor ? (await this.clientTokens(undefined, undefined)).accessToken : undefined;
          const { grantType, parameters } = exchangeGrant(spec.exchange, data.tokens.accessToken, actor);
          const token = await this.providers.of(data).exchangeToken(grantType, parameters, data.dpopKey);
          return { data: { ...data, derived: { ...data.derived, [spec.key]: token } }, token };
        }
        // The refresh token asked for this API's token: it rotates like any refresh.
        const refreshed = await this.#refreshed(session, () =>
          this.providers.of(data).refresh(data.tokens, data.dpopKey, resourceParameters(spec)),
        );
        const { refreshToken, idToken, ...token } = refreshed;
        const tokens = { ...data.tokens, refreshToken, idToken };
        return { data: { ...data, tokens, derived: { ...data.derived, [spec.key]: token } }, token };
      },
    );
  }

  /**
   * Obtains a token once for the session, however many requests and instances ask at the same
   * moment: one flight per session and purpose here, and the session's store lock across instances.
   * Whoever holds the lock runs `obtain`; the others wait and pick up the stored result (`ready`). A
   * holder that dies leaves a lock that expires, after which a waiter takes over. The result is
   * stored only if the session still exists: a logout meanwhile must not be undone.
   */
  async #once(
    session: ActiveSession,
    purpose: string,
    ready: (data: SessionData) => TokenSet | undefined,
    obtain: (data: SessionData) => Promise<{ data: SessionData; token: TokenSet }>,
  ): Promise<TokenSet> {
    const { data, token } = await this.#flights.run(`${session.key} ${purpose}`, async () => {
      const giveUpAt = Date.now() + 2 * this.#lockTtlMs;
      for (;;) {
        // Someone else (here or on another instance) got it meanwhile: use theirs.
        const seen = await this.#current(session);
        const theirs = ready(seen);
        if (theirs) return { data: seen, token: theirs };
        const release = await this.sessions.lock(session.key, this.#lockTtlMs);
        if (release) {
          try {
            // Re-read under the lock: the previous holder may have finished just before we got it.
            const current = await this.#current(session);
            const done = ready(current);
            if (done) return { data: current, token: done };
            const obtained = await obtain(current);
            if (!(await this.sessions.update({ ...session, data: obtained.data }))) {
              throw new GatehouseError('session_expired', { detail: 'session ended while its token was renewed' });
            }
            return obtained;
          } finally {
            await release().catch(() => {}); // an unreleased lock expires by itself
          }
        }
        if (Date.now() > giveUpAt) {
          throw new GatehouseError('idp_unavailable', { detail: 'waited too long for another instance to refresh' });
        }
        await sleep(LOCK_POLL_MS);
      }
    });
    session.data = data;
    return token;
  }

  async #current(session: ActiveSession): Promise<SessionData> {
    const current = await this.sessions.latest(session);
    if (!current) throw new GatehouseError('session_expired', { detail: 'session ended before its refresh' });
    return current;
  }

  /** Runs a refresh-token grant, counting it; a refusal of the grant itself ends the session. */
  async #refreshed(session: ActiveSession, grant: () => Promise<TokenSet>): Promise<TokenSet> {
    try {
      const refreshed = await grant();
      this.metrics?.refreshes.inc({ outcome: 'success' });
      return refreshed;
    } catch (error) {
      const code = error instanceof GatehouseError ? error.code : undefined;
      this.metrics?.refreshes.inc({ outcome: REFRESH_OUTCOMES[code ?? ''] ?? 'error' });
      // The provider said no (invalid_grant, a different user...): the session cannot continue.
      if (code === 'session_expired') await this.sessions.discard(session.key);
      throw error;
    }
  }

  /** A client-credentials token for `scope` (and `resource`), cached until shortly before it expires. */
  async clientTokens(scope: string | undefined, resource: string | undefined, stale?: string): Promise<TokenSet> {
    const key = `${scope ?? ''} ${resource ?? ''}`;
    const usable = () => {
      const cached = this.#clientTokens.get(key);
      return cached && cached.accessToken !== stale && this.#isFresh(cached) ? cached : undefined;
    };
    return (
      usable() ??
      this.#clientFetches.run(key, async () => {
        const again = usable();
        if (again) return again;
        const token = await this.providers.default.clientCredentials(scope, resource);
        this.#clientTokens.set(key, token);
        return token;
      })
    );
  }

  /**
   * Revokes a session's tokens at the provider: the refresh token, the access token and every
   * token derived for one API. Failures are only logged by the caller.
   */
  async revoke(data: SessionData): Promise<void> {
    const provider = this.providers.of(data);
    if (data.tokens.refreshToken) await provider.revoke(data.tokens.refreshToken, 'refresh_token');
    const accessTokens = [data.tokens, ...Object.values(data.derived ?? {})].map((t) => t.accessToken);
    await Promise.all(
      accessTokens.map((token) =>
        provider.revoke(token, 'access_token').catch((error: unknown) => {
          // RFC 7009 2.2.1: a provider may be unable to revoke self-contained (JWT) access tokens.
          // That is expected, not a failure: such a token dies at its (short) expiry.
          if ((error as { error?: unknown }).error !== 'unsupported_token_type') throw error;
        }),
      ),
    );
  }

  /**
   * Fresh until `skew` before expiry; the skew is capped at half the token's lifetime so that
   * short-lived tokens are not refreshed on every request.
   */
  #isFresh(tokens: TokenSet): boolean {
    return Date.now() < this.freshUntil(tokens);
  }

  /** When a token stops being used as it is (epoch ms): from then on it is renewed first. */
  freshUntil(tokens: TokenSet): number {
    if (tokens.expiresAt === undefined) return Infinity;
    return tokens.expiresAt - Math.min(this.#skewMs, (tokens.expiresAt - tokens.obtainedAt) / 2);
  }
}
