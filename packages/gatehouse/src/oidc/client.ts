/**
 * The OIDC client, protocol only (no Fastify): discovery, the authorization request, the code
 * exchange with every check openid-client offers (PKCE S256, state, nonce, RFC 9207 iss, ID token
 * signature on an algorithm allowlist), and the end-session URL.
 *
 * Discovery is lazy and retried: Gatehouse starts even when the provider is down, reports not
 * ready, and answers sign-in attempts with 503 until the provider is back.
 */
import { decodeJwt } from 'jose';
import * as client from 'openid-client';
import type { GatehouseConfig } from '../config/load.js';
import { GatehouseError } from '../errors.js';
import type { TokenSet } from '../session/session.js';
import type { LoginTransaction } from './login-transaction.js';
import { translateProviderError } from './errors.js';
import { assertSameUser } from './id-token-checks.js';

/** What a successful code exchange yields: the validated ID token claims and the tokens. */
export interface LoginResult {
  claims: Record<string, unknown>;
  tokens: TokenSet;
}

/** After a failed discovery, wait this long before asking the provider again. */
const DISCOVERY_RETRY_MS = 2_000;

export class OidcClient {
  readonly #config: GatehouseConfig['oidc'];
  #discovery: Promise<client.Configuration> | undefined;
  #failedAt = 0;
  #ready = false;

  constructor(config: GatehouseConfig['oidc']) {
    this.#config = config;
  }

  /** True once discovery has succeeded. */
  get ready(): boolean {
    return this.#ready;
  }

  /** The discovered configuration; throws `idp_unavailable` while the provider cannot be reached. */
  async configuration(): Promise<client.Configuration> {
    if (!this.#discovery) {
      if (Date.now() - this.#failedAt < DISCOVERY_RETRY_MS) {
        throw new GatehouseError('idp_unavailable', {
          detail: 'discovery failed recently; waiting before retrying',
        });
      }
      this.#discovery = this.#discover();
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

  async #discover(): Promise<client.Configuration> {
    const { issuer, clientId, clientSecret, clientAuth, idTokenSigningAlg, timeout, allowInsecureHttp } = this.#config;
    const auth =
      clientAuth === 'client_secret_post'
        ? client.ClientSecretPost(clientSecret)
        : client.ClientSecretBasic(clientSecret);
    const execute = [client.enableNonRepudiationChecks];
    if (allowInsecureHttp) execute.push(client.allowInsecureRequests);
    try {
      // discovery() checks that the document's issuer equals the configured one.
      return await client.discovery(
        new URL(issuer),
        clientId,
        { id_token_signed_response_alg: idTokenSigningAlg },
        auth,
        { execute, timeout: Math.ceil(timeout / 1000) },
      );
    } catch (error) {
      const translated = translateProviderError(error, 'idp_unavailable', 'discovery');
      throw translated.code === 'idp_unavailable'
        ? translated
        : new GatehouseError('idp_unavailable', {
            cause: error,
            detail: 'discovery document rejected',
          });
    }
  }

  /** A new transaction and the authorization URL that starts it. */
  async startLogin(
    returnTo: string,
    previousSessionId?: string,
  ): Promise<{ url: string; transaction: LoginTransaction }> {
    const configuration = await this.configuration();
    const transaction: LoginTransaction = {
      state: client.randomState(),
      nonce: client.randomNonce(),
      codeVerifier: client.randomPKCECodeVerifier(),
      returnTo,
      previousSessionId,
    };
    const url = client.buildAuthorizationUrl(configuration, {
      ...this.#config.authorizationParams,
      redirect_uri: this.#config.redirectUri,
      response_type: 'code',
      scope: this.#config.scopes.join(' '),
      state: transaction.state,
      nonce: transaction.nonce,
      code_challenge: await client.calculatePKCECodeChallenge(transaction.codeVerifier),
      code_challenge_method: 'S256',
    });
    return { url: url.href, transaction };
  }

  /**
   * Validates the authorization response and redeems the code. `query` is the callback's query
   * string; the URL it is checked against is the configured redirect_uri, never the request's Host.
   */
  async finishLogin(query: string, transaction: LoginTransaction): Promise<LoginResult> {
    const configuration = await this.configuration();
    const currentUrl = new URL(this.#config.redirectUri);
    currentUrl.search = query;
    try {
      const tokens = await client.authorizationCodeGrant(configuration, currentUrl, {
        pkceCodeVerifier: transaction.codeVerifier,
        expectedState: transaction.state,
        expectedNonce: transaction.nonce,
        idTokenExpected: true,
      });
      const claims = tokens.claims();
      if (!claims)
        throw new GatehouseError('login_failed', {
          detail: 'token response had no ID token',
        });
      return { claims: { ...claims }, tokens: tokenSet(tokens) };
    } catch (error) {
      throw translateProviderError(error, 'login_failed', 'callback');
    }
  }

  /**
   * The refresh-token grant. The new refresh token (rotation) replaces the old one, which is never
   * presented again; a new ID token must be about the same user as the one it replaces (OIDC §12.2).
   * Throws `session_expired` when the provider refuses the grant (the session must end) and
   * `idp_unavailable` when it cannot be reached (the session stays for the next try).
   */
  async refresh(current: TokenSet): Promise<TokenSet> {
    if (!current.refreshToken)
      throw new GatehouseError('session_expired', { detail: 'no refresh token to refresh with' });
    const configuration = await this.configuration();
    try {
      const response = await client.refreshTokenGrant(configuration, current.refreshToken);
      const claims = response.claims();
      if (claims && current.idToken) assertSameUser(decodeJwt(current.idToken), claims);
      const tokens = tokenSet(response);
      return {
        ...tokens,
        refreshToken: tokens.refreshToken ?? current.refreshToken,
        idToken: tokens.idToken ?? current.idToken,
        scope: tokens.scope ?? current.scope,
      };
    } catch (error) {
      throw translateProviderError(error, 'session_expired', 'refresh');
    }
  }

  /** A client-credentials token (the app's own identity, not a user's). */
  async clientCredentials(scope: string | undefined): Promise<TokenSet> {
    const configuration = await this.configuration();
    try {
      return tokenSet(await client.clientCredentialsGrant(configuration, scope ? { scope } : {}));
    } catch (error) {
      const translated = translateProviderError(error, 'server_error', 'client credentials');
      throw translated.code === 'idp_unavailable'
        ? translated
        : new GatehouseError('server_error', { cause: error, detail: translated.detail });
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
