/**
 * The demo OpenID Provider: oidc-provider with two demo users, a real login page, JWT access
 * tokens for the demo API, refresh-token rotation with reuse detection, revocation, introspection,
 * RP-initiated and back-channel logout. Gatehouse's tests use it as their real provider, so every
 * knob a test needs is an option here: over HTTPS it also does mutual TLS (client certificates,
 * certificate-bound tokens, mtls_endpoint_aliases on a second listener), and any oidc-provider
 * feature (PAR, request objects, JARM, DPoP, FAPI 2.0) can be switched on per test.
 */
import { randomBytes, X509Certificate } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { TLSSocket } from 'node:tls';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { exportJWK, generateKeyPair, type JWK } from 'jose';
import Provider, { errors, type Configuration, type KoaContextWithOIDC } from 'oidc-provider';
import { DEMO_USERS, findUser } from './users.js';
import { loginPage, logoutPage, messagePage } from './idp-pages.js';
import { DEMO_OTP, MFA_ACR, needsOtp, PASSWORD_ACR, stepUpPolicy } from './step-up.js';
import { JWT_BEARER, registerTokenExchange, TOKEN_EXCHANGE, type TokenExchangeOptions } from './token-exchange.js';

export interface DemoClient {
  clientId: string;
  /** Unset for clients that authenticate with keys or certificates. */
  clientSecret?: string;
  redirectUris: string[];
  postLogoutRedirectUris?: string[];
  tokenEndpointAuthMethod?:
    | 'client_secret_basic'
    | 'client_secret_post'
    | 'private_key_jwt'
    | 'tls_client_auth'
    | 'self_signed_tls_client_auth';
  backchannelLogoutUri?: string;
  /** More client metadata (jwks_uri, dpop_bound_access_tokens, require_pushed_authorization_requests...). */
  metadata?: Record<string, unknown>;
}

export interface DemoIdpOptions {
  clients: DemoClient[];
  /** 0 picks a free port. */
  port?: number;
  host?: string;
  /** Host name in the issuer URL (default: host). */
  publicHost?: string;
  /** Audience of the JWT access tokens (RFC 8707 resource). */
  apiResource?: string;
  accessTokenTtlSeconds?: number;
  /** Claims added to every user's ID token (e.g. a large `groups` list, to test big sessions). */
  extraClaims?: Record<string, unknown>;
  /** Rotate refresh tokens on every use; reusing a rotated one revokes the whole grant. */
  rotateRefreshTokens?: boolean;
  /** Announce this issuer instead of the listener's own URL (a test proxy stands in front). */
  issuer?: string;
  /** The provider's signing algorithm (default RS256). */
  signingAlg?: 'RS256' | 'PS256' | 'ES256';
  /** Publish an RSA-OAEP-256 encryption key and accept encrypted request objects (JAR, RFC 9101 §6.1). */
  encryption?: boolean;
  /**
   * Serve HTTPS with this certificate. The main listener asks for no client certificate; a second
   * listener, announced as mtls_endpoint_aliases, requires one (verified against `ca`, or
   * self-signed for self_signed_tls_client_auth).
   */
  tls?: { key: string; cert: string; ca: string };
  /**
   * More resource servers (RFC 8707), by indicator, each with the scope the provider grants for it:
   * their access tokens are JWTs whose audience is that indicator. Unknown indicators are refused.
   */
  resources?: Record<string, string>;
  /** Offer RFC 8693 token exchange (token-exchange.ts) for these audiences. */
  tokenExchange?: TokenExchangeOptions;
  /** oidc-provider features merged over the demo's (pushedAuthorizationRequests, requestObjects, jwtResponseModes, dPoP, fapi...). */
  features?: Configuration['features'];
}

/** What the provider did, for tests to assert on. */
export interface GrantRecord {
  grantType: string;
  clientId: string | undefined;
  ok: boolean;
  error?: string;
  /** The tokens it issued (success only). */
  tokens: string[];
}

export interface DemoIdp {
  issuer: string;
  /** Where the provider itself listens (differs from the issuer when a proxy stands in front). */
  listenUrl: string;
  /** Where the mTLS endpoint aliases are served (with `tls`). */
  mtlsOrigin?: string;
  provider: Provider;
  apiResource: string;
  /** The provider's private signing key (JWK), for tests that forge or craft tokens. */
  signingKey: JWK;
  /** Switch faults on and off without losing the provider's state (grants, sessions). */
  faults: {
    /** Every connection is dropped, as if the provider were down. */
    offline: boolean;
    /** Every request is held this long before the provider sees it, as if it were overloaded. */
    delayMs: number;
    /** How many requests have been held back so far. */
    delayed: number;
  };
  /** Has the provider send its back-channel logout token for this user (and provider session) to the client. */
  backchannelLogout(clientId: string, sub: string, sid: string): Promise<void>;
  /** Every token-endpoint call, in order. */
  grants: GrantRecord[];
  /** Every token the provider issued, so tests can prove none reaches the browser. */
  issuedTokens(): string[];
  close(): Promise<void>;
}

export const DEMO_API_RESOURCE = 'urn:gatehouse:demo-api';

export async function startDemoIdp(options: DemoIdpOptions): Promise<DemoIdp> {
  const host = options.host ?? '127.0.0.1';
  const { tls } = options;
  const server = tls ? createHttpsServer({ key: tls.key, cert: tls.cert }) : createServer();
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, host, resolve));
  const { port } = server.address() as AddressInfo;
  const issuer = options.issuer ?? `${tls ? 'https' : 'http'}://${options.publicHost ?? host}:${port}`;
  const apiResource = options.apiResource ?? DEMO_API_RESOURCE;
  // Mutual TLS: a second listener that demands a client certificate (any, so self-signed ones reach
  // the provider, which checks them against the client's registration).
  const mtlsServer = tls
    ? createHttpsServer({ key: tls.key, cert: tls.cert, ca: tls.ca, requestCert: true, rejectUnauthorized: false })
    : undefined;
  if (mtlsServer) await new Promise<void>((resolve) => mtlsServer.listen(0, host, resolve));
  const mtlsOrigin = mtlsServer
    ? `https://${options.publicHost ?? host}:${(mtlsServer.address() as AddressInfo).port}`
    : undefined;

  const alg = options.signingAlg ?? 'RS256';
  const { privateKey } = await generateKeyPair(alg, { extractable: true });
  const faults = { offline: false, delayMs: 0, delayed: 0 };
  const signingKey: JWK = {
    ...(await exportJWK(privateKey)),
    kid: randomBytes(8).toString('hex'),
    alg,
    use: 'sig',
  };

  const keys = [signingKey];
  if (options.encryption) {
    const { privateKey: decryption } = await generateKeyPair('RSA-OAEP-256', { extractable: true });
    keys.push({ ...(await exportJWK(decryption)), kid: 'enc-1', alg: 'RSA-OAEP-256', use: 'enc' });
  }
  const provider = new Provider(issuer, configuration(options, apiResource, keys, mtlsOrigin));
  if (options.tokenExchange) registerTokenExchange(provider, issuer, signingKey, options.tokenExchange);
  const grants: GrantRecord[] = [];
  provider.on('grant.success', (ctx: KoaContextWithOIDC) => {
    const body = ctx.body as Record<string, unknown>;
    grants.push({
      grantType: String(ctx.oidc.params?.grant_type),
      clientId: ctx.oidc.client?.clientId,
      ok: true,
      tokens: ['access_token', 'refresh_token', 'id_token']
        .map((k) => body[k])
        .filter((t): t is string => typeof t === 'string'),
    });
  });
  provider.on('grant.error', (ctx: KoaContextWithOIDC, error: { error?: string }) => {
    grants.push({
      grantType: String(ctx.oidc.params?.grant_type),
      clientId: ctx.oidc.client?.clientId,
      ok: false,
      error: error.error,
      tokens: [],
    });
  });
  // Quiet: expected protocol errors are part of the tests.
  provider.on('server_error', (_ctx: unknown, error: Error) => console.error('demo idp server_error', error));

  const providerHandler = provider.callback();
  mtlsServer?.on('request', (req: IncomingMessage, res: ServerResponse) => providerHandler(req, res));
  server.on('request', async (req: IncomingMessage, res: ServerResponse) => {
    if (faults.offline) return void req.socket.destroy();
    if (faults.delayMs > 0) {
      faults.delayed++;
      const stop = new AbortController();
      const gone = once(req.socket, 'close', { signal: stop.signal }).catch(() => {});
      await Promise.race([sleep(faults.delayMs, undefined, { signal: stop.signal }).catch(() => {}), gone]);
      stop.abort(); // whichever came first, the other must not keep the process alive
      // A client that gave up (or died) while its request was held: the provider never saw it.
      if (req.socket.destroyed) return;
    }
    if (req.url?.startsWith('/interaction/')) {
      handleInteraction(provider, req, res).catch((error: unknown) => {
        console.error('demo idp interaction failed', error);
        if (!res.headersSent) sendHtml(res, 500, messagePage('Something went wrong', 'Please start again.'));
      });
      return;
    }
    providerHandler(req, res);
  });

  return {
    issuer,
    listenUrl: `${tls ? 'https' : 'http'}://${host}:${port}`,
    mtlsOrigin,
    provider,
    apiResource,
    grants,
    signingKey,
    faults,
    issuedTokens: () => grants.flatMap((g) => g.tokens),
    backchannelLogout: async (clientId, sub, sid) => {
      const client = await provider.Client.find(clientId);
      if (!client) throw new Error(`no client ${clientId}`);
      // Present at runtime, missing from @types/oidc-provider.
      await (client as unknown as { backchannelLogout(sub: string, sid: string): Promise<void> }).backchannelLogout(
        sub,
        sid,
      );
    },
    close: async () => {
      await Promise.all(
        [server, mtlsServer].map(
          (listener) =>
            listener &&
            new Promise<void>((resolve) => {
              listener.close(() => resolve());
              listener.closeAllConnections();
            }),
        ),
      );
    },
  };
}

function configuration(
  options: DemoIdpOptions,
  apiResource: string,
  keys: JWK[],
  mtlsOrigin: string | undefined,
): Configuration {
  const signingKey = keys[0]!;
  const accessTokenTtl = options.accessTokenTtlSeconds ?? 300;
  const mtlsPaths = {
    token_endpoint: '/token',
    pushed_authorization_request_endpoint: '/request',
    revocation_endpoint: '/token/revocation',
    introspection_endpoint: '/token/introspection',
    userinfo_endpoint: '/me',
  };
  return {
    clients: options.clients.map((c) => ({
      client_id: c.clientId,
      ...(c.clientSecret === undefined ? {} : { client_secret: c.clientSecret }),
      redirect_uris: c.redirectUris,
      post_logout_redirect_uris: c.postLogoutRedirectUris ?? [],
      grant_types: [
        'authorization_code',
        'refresh_token',
        'client_credentials',
        ...(options.tokenExchange ? [TOKEN_EXCHANGE, JWT_BEARER] : []),
      ],
      response_types: ['code'],
      token_endpoint_auth_method: c.tokenEndpointAuthMethod ?? 'client_secret_basic',
      id_token_signed_response_alg: signingKey.alg as 'RS256',
      ...(c.backchannelLogoutUri
        ? { backchannel_logout_uri: c.backchannelLogoutUri, backchannel_logout_session_required: true }
        : {}),
      ...c.metadata,
    })),
    clientAuthMethods: [
      'client_secret_basic',
      'client_secret_post',
      'private_key_jwt',
      ...(mtlsOrigin ? ['tls_client_auth' as const, 'self_signed_tls_client_auth' as const] : []),
    ],
    ...(mtlsOrigin
      ? {
          discovery: {
            mtls_endpoint_aliases: Object.fromEntries(
              Object.entries(mtlsPaths).map(([name, path]) => [name, `${mtlsOrigin}${path}`]),
            ),
          },
        }
      : {}),
    jwks: { keys },
    cookies: { keys: [randomBytes(32).toString('base64url')] },
    findAccount: async (_ctx, id) => {
      const user = findUser(id);
      if (!user) return undefined;
      return { accountId: user.sub, claims: async () => ({ ...user.claims, ...options.extraClaims, sub: user.sub }) };
    },
    claims: {
      openid: ['sub'],
      profile: ['name', 'given_name', 'family_name', 'preferred_username', ...Object.keys(options.extraClaims ?? {})],
      email: ['email', 'email_verified'],
    },
    // The ID token carries the profile claims, so the BFF needs no userinfo call.
    conformIdTokenClaims: false,
    pkce: { required: () => true },
    rotateRefreshToken: options.rotateRefreshTokens ?? true,
    // Every registered client may refresh (offline_access is not required).
    issueRefreshToken: async (_ctx, client) => client.grantTypeAllowed('refresh_token'),
    ttl: {
      ClientCredentials: 600,
      Session: 8 * 3600,
      Grant: 8 * 3600,
      RefreshToken: 8 * 3600,
      IdToken: 3600,
      AccessToken: accessTokenTtl,
      Interaction: 600,
    },
    // The types model each feature's settings as a union per "enabled" value; a merge is fine at runtime.
    features: {
      ...demoFeatures(options, apiResource, accessTokenTtl, signingKey),
      ...options.features,
    } as Configuration['features'],
    // The demo's clients all live on loopback, which oidc-provider's SSRF guard (rightly) refuses to
    // call for back-channel logout. A demo provider may: drop the guarded dispatcher.
    fetch: (url, init) => {
      delete (init as { dispatcher?: unknown } | undefined)?.dispatcher;
      return fetch(url, init);
    },
    acrValues: [PASSWORD_ACR, MFA_ACR],
    interactions: { policy: stepUpPolicy(), url: async (_ctx, interaction) => `/interaction/${interaction.uid}` },
    renderError: async (ctx, out) => {
      ctx.type = 'html';
      ctx.body = messagePage('Sign-in error', `${out.error}: ${out.error_description ?? ''}`);
    },
  };
}

function demoFeatures(
  options: DemoIdpOptions,
  apiResource: string,
  accessTokenTtl: number,
  signingKey: JWK,
): NonNullable<Configuration['features']> {
  return {
    devInteractions: { enabled: false },
    // Off unless a test asks: the demo is a plain provider (Gatehouse uses PAR wherever offered).
    pushedAuthorizationRequests: { enabled: false },
    ...(options.encryption ? { encryption: { enabled: true } } : {}),
    ...(options.tls ? { mTLS: mutualTls() } : {}),
    // A client may revoke only its own tokens.
    revocation: { enabled: true, allowedPolicy: async (_ctx, client, token) => token.clientId === client.clientId },
    introspection: { enabled: true },
    clientCredentials: { enabled: true },
    backchannelLogout: { enabled: true },
    rpInitiatedLogout: {
      enabled: true,
      logoutSource: async (ctx, form) => {
        ctx.body = logoutPage(form);
      },
      postLogoutSuccessSource: async (ctx) => {
        ctx.body = messagePage('Signed out', 'You have been signed out of the demo identity provider.');
      },
    },
    resourceIndicators: {
      enabled: true,
      // With several resources granted and none named at the token endpoint: the demo API if among
      // them, else the first (oidc-provider needs exactly one there).
      defaultResource: async (_ctx, _client, oneOf) =>
        !oneOf || oneOf.includes(apiResource) ? apiResource : oneOf[0]!,
      useGrantedResource: async () => true,
      getResourceServerInfo: async (_ctx, indicator) => {
        const scope = indicator === apiResource ? 'orders:read' : options.resources?.[indicator];
        if (scope === undefined) throw new errors.InvalidTarget();
        return {
          scope,
          audience: indicator,
          accessTokenTTL: accessTokenTtl,
          accessTokenFormat: 'jwt',
          jwt: { sign: { alg: signingKey.alg as 'RS256' } },
        };
      },
    },
  };
}

/** RFC 8705 on the TLS listeners: certificates from the socket, PKI ones verified against the CA. */
function mutualTls(): NonNullable<Configuration['features']>['mTLS'] {
  const peer = (ctx: KoaContextWithOIDC) => {
    const socket = ctx.req.socket as TLSSocket;
    const raw = socket.getPeerCertificate?.()?.raw;
    return raw ? new X509Certificate(raw) : undefined;
  };
  return {
    enabled: true,
    certificateBoundAccessTokens: true,
    tlsClientAuth: true,
    selfSignedTlsClientAuth: true,
    getCertificate: (ctx) => peer(ctx) as never,
    certificateAuthorized: (ctx) => (ctx.req.socket as TLSSocket).authorized,
    certificateSubjectMatches: (ctx, property, expected) =>
      property === 'tls_client_auth_subject_dn' && peer(ctx)?.subject.replace(/\n/g, ',') === expected,
  };
}

/** The login page (GET shows it, POST checks the demo credentials), then automatic consent. */
async function handleInteraction(provider: Provider, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const details = await provider.interactionDetails(req, res);
  if (details.prompt.name === 'consent') {
    // The demo's clients are first-party: consent to what they asked for without a screen.
    const missing = details.prompt.details as {
      missingOIDCScope?: string[];
      missingOIDCClaims?: string[];
      missingResourceScopes?: Record<string, string[]>;
    };
    const grant = details.grantId
      ? (await provider.Grant.find(details.grantId))!
      : new provider.Grant({ accountId: details.session!.accountId, clientId: String(details.params.client_id) });
    if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(' '));
    if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims);
    for (const [resource, scopes] of Object.entries(missing.missingResourceScopes ?? {})) {
      grant.addResourceScope(resource, scopes.join(' '));
    }
    const grantId = await grant.save();
    await provider.interactionFinished(req, res, { consent: { grantId } }, { mergeWithLastSubmission: true });
    return;
  }
  if (req.method === 'POST') {
    const form = new URLSearchParams(await readBody(req));
    const user = findUser(form.get('username') ?? '');
    const otp = needsOtp(details.params.acr_values);
    if (user && form.get('password') === user.password && (!otp || form.get('otp') === DEMO_OTP)) {
      await provider.interactionFinished(
        req,
        res,
        { login: { accountId: user.sub, acr: otp ? MFA_ACR : PASSWORD_ACR, amr: otp ? ['pwd', 'otp'] : ['pwd'] } },
        { mergeWithLastSubmission: false },
      );
      return;
    }
    const error = otp ? 'Wrong username, password or code.' : 'Wrong username or password.';
    sendHtml(res, 200, loginPage(details.uid, DEMO_USERS, error, otp));
    return;
  }
  sendHtml(res, 200, loginPage(details.uid, DEMO_USERS, undefined, needsOtp(details.params.acr_values)));
}

function sendHtml(res: ServerResponse, status: number, html: string): void {
  res.writeHead(status, {
    'content-type': 'text/html; charset=utf-8',
    'cache-control': 'no-store',
    'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'",
  });
  res.end(html);
}

async function readBody(req: IncomingMessage): Promise<string> {
  let body = '';
  for await (const chunk of req) {
    body += chunk;
    if (body.length > 10_000) throw new Error('login form too large');
  }
  return body;
}

export type { Server };
