/**
 * The OIDC client, protocol only (no Fastify): discovery, the authorization request (plain, JAR,
 * PAR), the code exchange with every check openid-client offers (PKCE S256, state, nonce, RFC 9207
 * iss, JARM, claims of the ID token on an algorithm allowlist) plus the ID token's signature
 * (id-token-signature.ts), refresh, client credentials, revocation and the end-session URL. Client
 * authentication and the connection to the provider come from ClientIdentity; DPoP-bound tokens
 * use the session's DpopKey.
 *
 * Discovery is lazy and retried: Gatehouse starts even when the provider is down, reports not
 * ready, and answers sign-in attempts with 503 until the provider is back.
 */
import { decodeJwt, type JWK } from 'jose';
import * as client from 'openid-client';
import type { OidcSettings } from '../config/load.js';
import { GatehouseError } from '../errors.js';
import type { TokenSet } from '../session/session.js';
import { DpopKey, isDpopBound } from '../tokens/dpop.js';
import { authorizationUrl } from './authorization-request.js';
import type { ClientIdentity } from './client-identity.js';
import { discover, type Discovered } from './discovery.js';
import { ProviderNonces } from './dpop-nonces.js';
import { translateProviderError } from './errors.js';
import { assertSameUser } from './id-token-checks.js';
import type { LoginTransaction, SignInRequest } from './login-transaction.js';

/** What a successful code exchange yields: the validated ID token claims, the tokens, and the key they are bound to. */
export interface LoginResult {
  claims: Record<string, unknown>;
  tokens: TokenSet;
  dpopKey?: JWK;
}

/** The authorization response as it reached the callback: a query string, or a form_post body. */
export type AuthorizationResponse = { query: string } | { form: string };

/** After a failed discovery, wait this long before asking the provider again. */

const DISCOVERY_RETRY_MS = 2_000;

export class OidcClient {
  readonly #config: OidcSettings;
  readonly #apis: { resources: string[]; scopes: string[] };
  readonly identity: ClientIdentity;
  /** The provider's name: "default" (oidc), or its key in oidc.providers. */
  readonly name: string;
  /**
   * The key client-credentials tokens are bound to when senderConstraint is "dpop": one per
   * instance, made before the first such token is asked for.
   */
  clientDpopKey: DpopKey | undefined;
  #clientKey: Promise<DpopKey> | undefined;
  #discovery: Promise<Discovered> | undefined;
  #failedAt = 0;
  #ready = false;
  /** The provider's DPoP nonces, shared by every key's proofs. */
  readonly #nonces = new ProviderNonces();

  /**
   * @param apis the resources (and their scopes) the routes and upstreams will ask tokens for, which
   *   sign-in asks for first (derived-tokens.ts, signInResources)
   */
  constructor(
    config: OidcSettings,
    identity: ClientIdentity,
    apis: { resources: string[]; scopes: string[] } = { resources: [], scopes: [] },
  ) {
    this.#config = config;
    this.name = config.name;
    this.identity = identity;
    this.#apis = apis;
  }

  /** This provider's settings. */
  get settings(): OidcSettings {
    return this.#config;
  }

  /** True once discovery has succeeded. */
  get ready(): boolean {
    return this.#ready;
  }

  /** The discovered configuration; throws `idp_unavailable` while the provider cannot be reached. */
  async configuration(): Promise<client.Configuration> {
    return (await this.#discovered()).configuration;
  }

  #discovered(): Promise<Discovered> {
    if (!this.#discovery) {
      if (Date.now() - this.#failedAt < DISCOVERY_RETRY_MS) {
        return Promise.reject(
          new GatehouseError('idp_unavailable', { detail: 'discovery failed recently; waiting before retrying' }),
        );
      }
      this.#discovery = discover(this.#config, this.identity, this.#nonces.noting(this.identity.fetch));
      this.#discovery.then(
        () => (this.#ready = true),
        () => {
          this.#discovery = undefined;
          this.#failedAt = Date.now();
        },
      );
    }
    return this.#discovery;
  }

  /** A new transaction and the authorization URL that starts it. */
  async startLogin(
    returnTo: string,
    previousSessionId?: string,
    asked: SignInRequest = {},
  ): Promise<{ url: string; transaction: LoginTransaction }> {
    const { configuration, form } = await this.#discovered();
    const dpop =
      this.#config.senderConstraint === 'dpop' ? await DpopKey.generate(this.#config.dpopSigningAlg) : undefined;
    const transaction: LoginTransaction = {
      state: client.randomState(),
      nonce: client.randomNonce(),
      codeVerifier: client.randomPKCECodeVerifier(),
      returnTo,
      previousSessionId,
      dpopKey: dpop?.jwk,
      ...asked,
      provider: this.name,
    };
    const parameters = new URLSearchParams({
      ...this.#config.authorizationParams,
      redirect_uri: this.#config.redirectUri,
      response_type: 'code',
      // The APIs' own scopes too: a token for one API can be had later only for what was granted now.
      scope: [...new Set([...this.#config.scopes, ...this.#apis.scopes])].join(' '),
      state: transaction.state,
      nonce: transaction.nonce,
      code_challenge: await client.calculatePKCECodeChallenge(transaction.codeVerifier),
      code_challenge_method: 'S256',
    });
    if (asked.prompt) parameters.set('prompt', asked.prompt);
    if (asked.acrValues) parameters.set('acr_values', asked.acrValues.join(' '));
    if (asked.maxAge !== undefined) parameters.set('max_age', String(asked.maxAge));
    // RFC 8707 §2.1: every API a token will be asked for later.
    for (const resource of this.#apis.resources) parameters.append('resource', resource);
    if (this.#config.responseMode !== 'query') parameters.set('response_mode', this.#config.responseMode);
    // The code is bound to the DPoP key: by the proof on the pushed request, else by its thumbprint (RFC 9449 §10).
    if (dpop && !form.pushed) parameters.set('dpop_jkt', await dpop.thumbprint());
    try {
      const url = await authorizationUrl(configuration, this.#config, form, parameters, {
        signingKey: () => this.identity.signingKey(),
        signingOptions: this.identity.signingOptions(),
        fetch: this.identity.fetch,
        dpop: dpop && (await this.#nonces.handle(dpop, configuration)),
      });
      return { url: url.href, transaction };
    } catch (error) {
      throw translateProviderError(error, 'server_error', 'authorization request');
    }
  }

  /**
   * Validates the authorization response and redeems the code. The URL it is checked against is
   * the configured redirect_uri, never the request's Host.
   */
  async finishLogin(response: AuthorizationResponse, transaction: LoginTransaction): Promise<LoginResult> {
    const { responses, idTokens } = await this.#discovered();
    const params = new URLSearchParams('query' in response ? response.query : response.form);
    // FAPI 2.0 §5.3.3.2(5): the RFC 9207 iss is required, advertised or not (a JARM response carries it inside).
    if (this.#config.profile === 'fapi2' && !params.has('iss') && !params.has('response')) {
      throw new GatehouseError('login_failed', { detail: 'callback: authorization response without iss (RFC 9207)' });
    }
    const dpop = transaction.dpopKey ? DpopKey.fromJwk(transaction.dpopKey) : undefined;
    try {
      const tokens = await client.authorizationCodeGrant(
        responses,
        this.#currentUrl(response),
        {
          pkceCodeVerifier: transaction.codeVerifier,
          expectedState: transaction.state,
          expectedNonce: transaction.nonce,
          idTokenExpected: true,
        },
        undefined,
        { DPoP: dpop && (await this.#nonces.handle(dpop, responses)) },
      );
      const claims = tokens.claims();
      if (!claims || !tokens.id_token) {
        throw new GatehouseError('login_failed', { detail: 'token response had no ID token' });
      }
      this.#checkBinding(tokens.token_type, 'callback');
      checkStepUp(claims, transaction);
      const idToken = await idTokens.verified(tokens.id_token, 'callback');
      return { claims: { ...claims }, tokens: { ...tokenSet(tokens), idToken }, dpopKey: transaction.dpopKey };
    } catch (error) {
      throw translateProviderError(error, 'login_failed', 'callback');
    }
  }

  /**
   * The state of an authorization response, to find its transaction. A JARM response carries it
   * inside its (possibly encrypted) JWT: read here unverified, only to find the transaction;
   * openid-client then checks the verified value against it.
   */
  async responseState(params: URLSearchParams): Promise<string | undefined> {
    const plain = params.get('state');
    const jwt = params.get('response');
    if (plain !== null || jwt === null) return plain ?? undefined;
    try {
      const signed = jwt.split('.').length === 5 ? await this.identity.decrypt(jwt) : jwt;
      const state = decodeJwt(signed).state;
      return typeof state === 'string' ? state : undefined;
    } catch {
      return undefined;
    }
  }

  #currentUrl(response: AuthorizationResponse): URL | Request {
    if ('query' in response) {
      const url = new URL(this.#config.redirectUri);
      url.search = response.query;
      return url;
    }
    return new Request(this.#config.redirectUri, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: response.form,
    });
  }

  /** With senderConstraint "dpop", a token the provider did not bind is refused: it would be a silent downgrade. */
  #checkBinding(tokenType: string, step: string): void {
    if (this.#config.senderConstraint === 'dpop' && !isDpopBound(tokenType)) {
      throw new GatehouseError(step === 'refresh' ? 'session_expired' : 'login_failed', {
        detail: `${step}: the provider issued a ${tokenType} token although DPoP was used (is DPoP enabled for this client?)`,
      });
    }
  }

  /**
   * The refresh-token grant, with the session's DPoP key when its tokens are bound, and with
   * `parameters` such as a `resource` (RFC 8707: an access token for that API alone). The new
   * refresh token (rotation) replaces the old one, which is never presented again; a new ID token
   * must be about the same user as the one it replaces (OIDC §12.2). Throws `session_expired` when
   * the provider refuses the grant (the session must end), `token_refused` when it refuses the
   * resource or scope asked for, and `idp_unavailable` when it cannot be reached (the session
   * stays for the next try).
   */
  async refresh(current: TokenSet, dpopKey?: JWK, parameters?: Record<string, string>): Promise<TokenSet> {
    if (!current.refreshToken)
      throw new GatehouseError('session_expired', { detail: 'no refresh token to refresh with' });
    const { configuration, idTokens } = await this.#discovered();
    const dpop = dpopKey ? DpopKey.fromJwk(dpopKey) : undefined;
    try {
      const response = await client.refreshTokenGrant(configuration, current.refreshToken, parameters, {
        DPoP: dpop && (await this.#nonces.handle(dpop, configuration)),
      });
      this.#checkBinding(response.token_type, 'refresh');
      const claims = response.claims();
      let idToken = current.idToken;
      if (claims && response.id_token) {
        if (current.idToken) assertSameUser(decodeJwt(current.idToken), claims);
        idToken = await idTokens.verified(response.id_token, 'refresh');
      }
      const tokens = tokenSet(response);
      return {
        ...tokens,
        refreshToken: tokens.refreshToken ?? current.refreshToken,
        idToken,
        scope: tokens.scope ?? current.scope,
      };
    } catch (error) {
      throw translateProviderError(error, 'session_expired', 'refresh');
    }
  }

  /**
   * A client-credentials token (the app's own identity, not a user's), for `resource` when given,
   * bound to the instance's DPoP key when configured.
   */
  async clientCredentials(scope: string | undefined, resource?: string): Promise<TokenSet> {
    const configuration = await this.configuration();
    if (this.#config.senderConstraint === 'dpop') {
      // One key for every client token of this instance, however many scopes ask at once.
      this.#clientKey ??= DpopKey.generate(this.#config.dpopSigningAlg).then((key) => (this.clientDpopKey = key));
      await this.#clientKey;
    }
    const dpop = this.clientDpopKey && (await this.#nonces.handle(this.clientDpopKey, configuration));
    try {
      const parameters = { ...(scope ? { scope } : {}), ...(resource ? { resource } : {}) };
      return tokenSet(await client.clientCredentialsGrant(configuration, parameters, { DPoP: dpop }));
    } catch (error) {
      const translated = translateProviderError(error, 'server_error', 'client credentials');
      throw translated.code === 'idp_unavailable'
        ? translated
        : new GatehouseError('server_error', { cause: error, detail: translated.detail });
    }
  }

  /**
   * A token exchange (RFC 8693, or on-behalf-of): the user's access token, in `parameters`, for one
   * scoped to a single API. A refusal is `token_refused`, never a fallback to the broad token.
   */
  async exchangeToken(grantType: string, parameters: Record<string, string>, dpopKey?: JWK): Promise<TokenSet> {
    const configuration = await this.configuration();
    const dpop = dpopKey ? await this.#nonces.handle(DpopKey.fromJwk(dpopKey), configuration) : undefined;
    try {
      const response = await client.genericGrantRequest(configuration, grantType, parameters, { DPoP: dpop });
      return tokenSet(response);
    } catch (error) {
      throw translateProviderError(error, 'token_refused', 'token exchange');
    }
  }

  /** Revokes a token (RFC 7009) when the provider offers revocation; false when it could not. */
  async revoke(token: string, hint: 'refresh_token' | 'access_token'): Promise<boolean> {
    const configuration = await this.configuration();
    if (!configuration.serverMetadata().revocation_endpoint) return false;
    await client.tokenRevocation(configuration, token, { token_type_hint: hint });
    return true;
  }

  /** The provider's end-session URL (RP-Initiated Logout), or undefined when it has none. */
  async endSessionUrl(idTokenHint: string | undefined): Promise<string | undefined> {
    const configuration = await this.configuration();
    if (!configuration.serverMetadata().end_session_endpoint) return undefined;
    const params: Record<string, string> = {
      post_logout_redirect_uri: this.#config.postLogoutRedirectUri,
    };
    if (idTokenHint) params.id_token_hint = idTokenHint;
    return client.buildEndSessionUrl(configuration, params).href;
  }

  close(): Promise<void> {
    return this.identity.close();
  }
}

function tokenSet(response: client.TokenEndpointResponse & client.TokenEndpointResponseHelpers): TokenSet {
  const now = Date.now();
  const expiresIn = response.expiresIn();
  return {
    accessToken: response.access_token,
    tokenType: response.token_type,
    obtainedAt: now,
    expiresAt: expiresIn === undefined ? undefined : now + expiresIn * 1000,
    refreshToken: response.refresh_token,
    idToken: response.id_token,
    scope: response.scope,
  };
}

/** Clock skew allowed on auth_time when a step-up asked for max_age. */
const AUTH_TIME_SKEW_S = 30;

/** A step-up sign-in must have reached what it asked for: else nothing changes (the session before it stays). */
function checkStepUp(claims: client.IDToken, transaction: LoginTransaction): void {
  const { acrValues, maxAge } = transaction;
  if (acrValues && !(typeof claims.acr === 'string' && acrValues.includes(claims.acr))) {
    throw new GatehouseError('step_up_failed', {
      detail: `callback: acr ${String(claims.acr)} is not one of ${acrValues.join(', ')}`,
    });
  }
  if (maxAge !== undefined) {
    const age = Date.now() / 1000 - Number(claims.auth_time);
    if (!(age <= maxAge + AUTH_TIME_SKEW_S)) {
      throw new GatehouseError('step_up_failed', { detail: `callback: auth_time ${String(claims.auth_time)} too old` });
    }
  }
}
