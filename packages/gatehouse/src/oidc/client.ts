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
import type { GatehouseConfig } from '../config/load.js';
import { GatehouseError } from '../errors.js';
import type { TokenSet } from '../session/session.js';
import { DpopKey, isDpopBound } from '../tokens/dpop.js';
import { authorizationUrl, requestForm, type RequestForm } from './authorization-request.js';
import type { ClientIdentity } from './client-identity.js';
import { translateProviderError } from './errors.js';
import { assertSameUser } from './id-token-checks.js';
import { IdTokenSignature } from './id-token-signature.js';
import type { LoginTransaction } from './login-transaction.js';

/** What a successful code exchange yields: the validated ID token claims, the tokens, and the key they are bound to. */
export interface LoginResult {
  claims: Record<string, unknown>;
  tokens: TokenSet;
  dpopKey?: JWK;
}

/** The authorization response as it reached the callback: a query string, or a form_post body. */
export type AuthorizationResponse = { query: string } | { form: string };

interface Discovered {
  configuration: client.Configuration;
  /**
   * The configuration that reads authorization responses. For JARM it is a second one: openid-client
   * would otherwise rewrite every request's response_mode to "jwt" (losing "form_post.jwt").
   */
  responses: client.Configuration;
  form: RequestForm;
  idTokens: IdTokenSignature;
}

/** After a failed discovery, wait this long before asking the provider again. */
const DISCOVERY_RETRY_MS = 2_000;

export class OidcClient {
  readonly #config: GatehouseConfig['oidc'];
  readonly identity: ClientIdentity;
  /** The key client-credentials tokens are bound to when senderConstraint is "dpop" (one per instance). */
  readonly clientDpopKey: DpopKey | undefined;
  #discovery: Promise<Discovered> | undefined;
  #failedAt = 0;
  #ready = false;
  /**
   * The provider's latest DPoP nonce per origin, from any of its answers. A nonce belongs to the
   * server, not to a key: every session's first proof carries it, instead of each new key earning
   * its own `use_dpop_nonce` round trip at PAR, token and refresh.
   */
  readonly #dpopNonces = new Map<string, string>();

  /** Every provider call: over the client identity's connection, noting the DPoP nonces it hands out. */
  readonly #fetch = async (url: string, init?: RequestInit): Promise<Response> => {
    const response = await this.identity.fetch(url, init);
    const nonce = response.headers.get('dpop-nonce');
    if (nonce) this.#dpopNonces.set(new URL(url).origin, nonce);
    return response;
  };

  constructor(config: GatehouseConfig['oidc'], identity: ClientIdentity) {
    this.#config = config;
    this.identity = identity;
    this.clientDpopKey = config.senderConstraint === 'dpop' ? DpopKey.generate(config.dpopSigningAlg) : undefined;
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

  async #discover(): Promise<Discovered> {
    const { issuer, clientId, idTokenSigningAlg, timeout, allowInsecureHttp, responseMode } = this.#config;
    const execute = allowInsecureHttp ? [client.allowInsecureRequests] : [];
    const clientMetadata = {
      // The one algorithm accepted on ID tokens, and on JARM responses (signed by the same provider keys).
      id_token_signed_response_alg: idTokenSigningAlg,
      authorization_signed_response_alg: idTokenSigningAlg,
      ...(this.identity.presentsCertificate ? { use_mtls_endpoint_aliases: true } : {}),
    };
    const authentication = await this.identity.authentication();
    let configuration: client.Configuration;
    try {
      // discovery() checks that the document's issuer equals the configured one.
      configuration = await client.discovery(new URL(issuer), clientId, clientMetadata, authentication, {
        execute,
        timeout: Math.ceil(timeout / 1000),
        [client.customFetch]: this.#fetch as client.CustomFetch,
      });
    } catch (error) {
      const translated = translateProviderError(error, 'idp_unavailable', 'discovery');
      throw translated.code === 'idp_unavailable'
        ? translated
        : new GatehouseError('idp_unavailable', { cause: error, detail: 'discovery document rejected' });
    }
    const metadata = configuration.serverMetadata();
    let responses = configuration;
    if (responseMode.endsWith('jwt')) {
      responses = new client.Configuration(metadata, clientId, clientMetadata, authentication);
      responses[client.customFetch] = this.#fetch as client.CustomFetch;
      responses.timeout = configuration.timeout;
      for (const extension of execute) extension(responses);
      client.useJwtResponseMode(responses);
    }
    if (this.identity.decryptionKeys.length > 0) {
      client.enableDecryptingResponses(responses, undefined, ...(await this.identity.decryptionCryptoKeys()));
    }
    if (!metadata.jwks_uri)
      throw new GatehouseError('idp_unavailable', { detail: 'the provider publishes no jwks_uri' });
    return {
      configuration,
      responses,
      form: requestForm(this.#config, metadata, this.identity.signingKeys.length > 0),
      idTokens: new IdTokenSignature({
        jwksUri: metadata.jwks_uri,
        algorithm: idTokenSigningAlg,
        issuer: metadata.issuer,
        clientId,
        fetch: this.identity.fetch,
        decrypt: (jwe) => this.identity.decrypt(jwe),
      }),
    };
  }

  /** A new transaction and the authorization URL that starts it. */
  async startLogin(
    returnTo: string,
    previousSessionId?: string,
  ): Promise<{ url: string; transaction: LoginTransaction }> {
    const { configuration, form } = await this.#discovered();
    const dpop = this.#config.senderConstraint === 'dpop' ? DpopKey.generate(this.#config.dpopSigningAlg) : undefined;
    const transaction: LoginTransaction = {
      state: client.randomState(),
      nonce: client.randomNonce(),
      codeVerifier: client.randomPKCECodeVerifier(),
      returnTo,
      previousSessionId,
      dpopKey: dpop?.jwk,
    };
    const parameters: Record<string, string> = {
      ...this.#config.authorizationParams,
      redirect_uri: this.#config.redirectUri,
      response_type: 'code',
      scope: this.#config.scopes.join(' '),
      state: transaction.state,
      nonce: transaction.nonce,
      code_challenge: await client.calculatePKCECodeChallenge(transaction.codeVerifier),
      code_challenge_method: 'S256',
    };
    if (this.#config.responseMode !== 'query') parameters.response_mode = this.#config.responseMode;
    // The code is bound to the DPoP key: by the proof on the pushed request, else by its thumbprint (RFC 9449 §10).
    if (dpop && !form.pushed) parameters.dpop_jkt = await dpop.thumbprint();
    try {
      const url = await authorizationUrl(configuration, this.#config, form, parameters, {
        signingKey: () => this.identity.signingKey(),
        signingOptions: this.identity.signingOptions(),
        fetch: this.identity.fetch,
        dpop: dpop && (await this.#dpopHandle(dpop, configuration)),
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
        { DPoP: dpop && (await this.#dpopHandle(dpop, responses)) },
      );
      const claims = tokens.claims();
      if (!claims || !tokens.id_token) {
        throw new GatehouseError('login_failed', { detail: 'token response had no ID token' });
      }
      this.#checkBinding(tokens.token_type, 'callback');
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

  /** openid-client's handle for `key`, told the provider's latest nonces first. */
  async #dpopHandle(key: DpopKey, configuration: client.Configuration): Promise<client.DPoPHandle> {
    const handle = await key.handle(configuration);
    for (const [origin, nonce] of this.#dpopNonces) seedNonce(handle, origin, nonce);
    return handle;
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
   * The refresh-token grant, with the session's DPoP key when its tokens are bound. The new refresh
   * token (rotation) replaces the old one, which is never presented again; a new ID token must be
   * about the same user as the one it replaces (OIDC §12.2). Throws `session_expired` when the
   * provider refuses the grant (the session must end) and `idp_unavailable` when it cannot be
   * reached (the session stays for the next try).
   */
  async refresh(current: TokenSet, dpopKey?: JWK): Promise<TokenSet> {
    if (!current.refreshToken)
      throw new GatehouseError('session_expired', { detail: 'no refresh token to refresh with' });
    const { configuration, idTokens } = await this.#discovered();
    const dpop = dpopKey ? DpopKey.fromJwk(dpopKey) : undefined;
    try {
      const response = await client.refreshTokenGrant(configuration, current.refreshToken, undefined, {
        DPoP: dpop && (await this.#dpopHandle(dpop, configuration)),
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

  /** A client-credentials token (the app's own identity, not a user's), bound to the instance's DPoP key when configured. */
  async clientCredentials(scope: string | undefined): Promise<TokenSet> {
    const configuration = await this.configuration();
    const dpop = this.clientDpopKey && (await this.#dpopHandle(this.clientDpopKey, configuration));
    try {
      return tokenSet(await client.clientCredentialsGrant(configuration, scope ? { scope } : {}, { DPoP: dpop }));
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

  close(): Promise<void> {
    return this.identity.close();
  }
}

/**
 * Tells a DPoP handle a nonce the provider gave out elsewhere. oauth4webapi's handles learn nonces
 * only from their own answers (`cacheNonce`, not part of the typed API: if it ever goes, handles
 * simply learn by one retry again, as RFC 9449 §8 intends).
 */
function seedNonce(handle: client.DPoPHandle, origin: string, nonce: string): void {
  const learning = handle as unknown as { cacheNonce?: (response: Response, url: URL) => void };
  learning.cacheNonce?.(new Response(null, { headers: { 'dpop-nonce': nonce } }), new URL(origin));
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
