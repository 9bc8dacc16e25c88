/**
 * The configuration schema: one strict document, validated once at boot. Unknown keys, wrong
 * types and missing required values are errors that name the key path. Defaults are the secure
 * ones; every loosening is a named option. docs/configuration.md documents every key (a test
 * checks it against this file).
 */
import { z } from 'zod';
import { parseDuration } from './duration.js';

/** A duration: seconds as a number, or a string such as "500ms", "30s", "15m", "8h", "1d". */
const duration = z
  .union([
    z.number().int().positive(),
    z.string().regex(/^\d+(ms|s|m|h|d)$/, 'expected a duration such as "30s", "15m" or "8h"'),
  ])
  .transform(parseDuration);

/** A secret value: masked by `gatehouse check` and never logged. */
const secret = (minLength: number, what: string, description?: string) =>
  z
    .string()
    .min(minLength, `expected ${what} of at least ${minLength} characters`)
    .meta({ secret: true, ...(description ? { description } : {}) });

/**
 * Numbers and booleans may come from ${ENV_VAR} substitution, which yields strings: accept the
 * exact string forms ("8080", "true") and nothing looser.
 */
const fromEnvString = (value: unknown) => {
  if (typeof value !== 'string') return value;
  if (/^\d+$/.test(value)) return Number(value);
  if (value === 'true' || value === 'false') return value === 'true';
  return value;
};
const port = () => z.preprocess(fromEnvString, z.number().int().min(0).max(65535));
const bool = () => z.preprocess(fromEnvString, z.boolean());
const positiveInt = () => z.preprocess(fromEnvString, z.number().int().positive());

/** A request budget: at most `requests` per `window`. */
function limit() {
  return z.strictObject({
    requests: positiveInt().meta({ description: 'Requests allowed per window.' }),
    window: duration.meta({ description: 'The window, e.g. "1m".' }),
  });
}

const httpUrl = z.url({
  protocol: /^https?$/,
  // Missing values keep the default message, which becomes "is required".
  error: (issue) => (issue.input === undefined ? undefined : 'expected an http(s) URL'),
});

const segment = /^\/[A-Za-z0-9._~-]+(\/[A-Za-z0-9._~-]+)*$/;

/** An RFC 8707 resource indicator: an absolute URI without a fragment. */
const resourceIndicator = z
  .string()
  .refine((value) => URL.canParse(value) && !value.includes('#'), 'expected an absolute URI without a fragment');

/**
 * Which token a route or upstream carries: a named kind, or an RFC 8693 token exchange of the
 * user's token for one meant for this API only.
 */
const tokenChoice = z
  .union([
    z.enum(['user', 'client', 'user-or-client', 'none']),
    z.strictObject({
      exchange: z
        .strictObject({
          grant: z.enum(['token-exchange', 'on-behalf-of']).default('token-exchange').meta({
            description:
              '"token-exchange": RFC 8693; "on-behalf-of": the JWT bearer grant with requested_token_use=on_behalf_of, as Microsoft Entra ID does it (the API named by scope).',
          }),
          audience: z
            .string()
            .min(1)
            .optional()
            .meta({ description: "The audience asked for (the API's name at the provider)." }),
          resource: resourceIndicator.optional().meta({ description: 'The resource indicator asked for.' }),
          scope: z.string().optional().meta({ description: 'The scope asked for.' }),
          requestedTokenType: z
            .string()
            .default('urn:ietf:params:oauth:token-type:access_token')
            .meta({ description: 'requested_token_type.' }),
          actor: bool().default(false).meta({
            description:
              "Send Gatehouse's own client-credentials token as actor_token (delegation: the API sees who acts for the user).",
          }),
        })
        .refine(
          (e) =>
            e.grant === 'on-behalf-of' ? e.scope !== undefined : e.audience !== undefined || e.resource !== undefined,
          'expected an audience or a resource (on-behalf-of: a scope)',
        )
        .meta({
          description: "RFC 8693: the user's access token (subject_token) exchanged for one scoped to this API.",
        }),
    }),
  ])
  .default('user');

/** Methods a route may allow. TRACE and CONNECT are never proxied. */
export const PROXY_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const;

const scopeToken = z.string().regex(/^[\x21\x23-\x5b\x5d-\x7e]+$/, 'expected a scope token');
const claimValue = z.union([z.string(), z.number(), z.boolean()]);

/**
 * Who may use a route or endpoint, judged from the signed-in user's session before any upstream is
 * called: 401 without a session, 403 when a rule is not met. Every listed rule must hold.
 */
export const accessRuleSchema = z
  .strictObject({
    scopes: z.array(scopeToken).min(1).optional().meta({
      description: 'Scopes the user\'s access token must have been granted, all of them (e.g. ["orders:read"]).',
    }),
    roles: z.array(z.string().min(1)).min(1).optional().meta({
      description: 'Roles the user must have, any one of them, read from the claim named by oidc.rolesClaim.',
    }),
    claims: z
      .record(z.string().min(1), z.union([claimValue, z.array(claimValue).min(1)]))
      .optional()
      .meta({
        description:
          'Claims of the user\'s ID token and the value each must have (a list: any of them; a list-valued claim: containing it). Nested claims by dotted path, e.g. "realm_access.roles".',
      }),
    acr: z
      .array(z.string().regex(/^[\x21\x23-\x5B\x5D-\x7E]+$/, 'expected an acr value (no spaces or quotes)'))
      .min(1)
      .optional()
      .meta({
        description:
          "Step-up (RFC 9470): the sign-in must have reached one of these authentication context classes (the ID token's acr). Not met: 401 step_up_required naming them; the SPA signs in again with them.",
      }),
    maxAge: duration.optional().meta({
      description:
        'Step-up (RFC 9470): the user must have authenticated at most this long ago (the ID token\'s auth_time), e.g. "5m". Not met: 401 step_up_required with max_age.',
    }),
  })
  .meta({
    description:
      'Claim-based authorization: without a session 401, otherwise 403 unless every rule holds. Checked before the upstream is called.',
  });

const routeSchema = z.strictObject({
  path: z.string().regex(segment, 'expected a path such as "/orders" (letters, digits, ".", "_", "~", "-")').meta({
    description: 'Path under basePath: "/orders" serves /api/orders and everything below it.',
  }),
  upstream: httpUrl.meta({
    description: 'Base URL the path maps to: /api/orders/42 goes to <upstream>/42.',
  }),
  token: tokenChoice.meta({
    description:
      '"user": the session\'s access token; "client": a client-credentials token (cached and refreshed); "user-or-client": the user\'s when signed in, else the client\'s; "none": no token; { exchange: {...} }: the user\'s token exchanged (RFC 8693) for one meant for this API only.',
  }),
  requireSession: bool().optional().meta({
    description:
      'Refuse requests without a session (401). Default: false for "user-or-client", true otherwise; a "user" or exchange route always needs one.',
  }),
  resource: resourceIndicator.optional().meta({
    description:
      "The API's resource indicator (RFC 8707): the route gets a token whose audience is this API only, obtained from the refresh token (user) or the client-credentials grant (client). Requested at sign-in.",
  }),
  scope: z.string().optional().meta({
    description:
      'Scope of this route\'s token: with "resource", the scopes asked for that API\'s token (added to the sign-in request); for "client" and "user-or-client", the client-credentials scope.',
  }),
  methods: z.array(z.enum(PROXY_METHODS)).min(1).default(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE']).meta({
    description: 'Methods forwarded; others get 405. TRACE and CONNECT are never allowed.',
  }),
  timeout: duration.prefault('30s').meta({
    description: 'Time allowed for the upstream to answer with headers, and between body chunks.',
  }),
  maxBodySize: positiveInt()
    .default(10 * 1024 * 1024)
    .meta({ description: 'Largest request body, in bytes, forwarded to the upstream; bigger ones get 413.' }),
  allowFormBodies: bool().default(false).meta({
    description:
      'Accept state-changing requests with form content types (urlencoded, multipart, text/plain). Off: 415, since those are what cross-site forms send.',
  }),
  websocket: bool()
    .default(false)
    .meta({ description: 'Proxy WebSocket upgrades on this route (Origin-checked, token on the upstream handshake).' }),
  rateLimit: z
    .strictObject({ perSession: limit().optional(), perIp: limit().optional() })
    .optional()
    .meta({ description: 'Limits for this route, replacing rateLimit.perSession / rateLimit.perIp.' }),
  authorize: accessRuleSchema.optional(),
  caFile: z.string().min(1).optional().meta({
    description: "PEM file of CAs trusted for an https upstream's certificate, in addition to the system's.",
  }),
});

/** An upstream that extension endpoints call (not proxied to the browser by itself). */
const upstreamSchema = z.strictObject({
  url: httpUrl.meta({ description: 'Base URL; an endpoint\'s call to "/x" goes to <url>/x.' }),
  token: tokenChoice.meta({ description: 'The token attached to every call, as for routes[].token.' }),
  resource: resourceIndicator
    .optional()
    .meta({ description: "The API's resource indicator, as for routes[].resource." }),
  scope: z.string().optional().meta({ description: 'Scope of the token, as for routes[].scope.' }),
  timeout: duration.prefault('10s').meta({
    description: 'Default time allowed for one call, start to last byte; a call may ask for less or more.',
  }),
  maxResponseSize: positiveInt()
    .default(1024 * 1024)
    .meta({ description: 'Largest response body, in bytes, an endpoint reads from this upstream.' }),
  caFile: z.string().min(1).optional().meta({
    description: "PEM file of CAs trusted for an https upstream's certificate, in addition to the system's.",
  }),
});

export const CLIENT_AUTH_METHODS = [
  'client_secret_basic',
  'client_secret_post',
  'private_key_jwt',
  'tls_client_auth',
  'self_signed_tls_client_auth',
] as const;
export const SIGNING_ALGS = ['ES256', 'PS256', 'RS256', 'EdDSA'] as const;
export const ENCRYPTION_ALGS = ['RSA-OAEP-256', 'RSA-OAEP', 'ECDH-ES', 'ECDH-ES+A128KW', 'ECDH-ES+A256KW'] as const;
export const RESPONSE_MODES = ['query', 'form_post', 'jwt', 'query.jwt', 'form_post.jwt'] as const;

/** A private key: a PEM (PKCS#8 or traditional) or JWK file, or the key itself (PEM or JWK JSON) from ${ENV}. */
function keySchema<const A extends readonly [string, ...string[]]>(algs: A, algDescription: string) {
  return z
    .strictObject({
      file: z
        .string()
        .min(1)
        .optional()
        .meta({ description: 'A file holding the private key: PEM, or a JWK as JSON.' }),
      key: secret(1, 'a key', 'The private key itself, PEM or JWK JSON. Use ${ENV_VAR} substitution.').optional(),
      kid: z.string().min(1).optional().meta({
        description: "Key id. Default: the JWK's own kid, else its RFC 7638 thumbprint.",
      }),
      alg: z.enum(algs).optional().meta({ description: algDescription }),
      certFile: z.string().min(1).optional().meta({
        description:
          'A PEM certificate for this key, for providers that identify keys by certificate (Microsoft Entra ID): the JWKS then lists it (x5c) and what the key signs names it (x5t#S256, x5t).',
      }),
    })
    .refine((k) => (k.file === undefined) !== (k.key === undefined), 'expected exactly one of "file" or "key"');
}

/** The name of an app or a provider (they appear in URLs, logs and Redis keys); `reserved` names the implicit one. */
const entryName = (example: string, reserved: string, reservedFor: string) =>
  z
    .string()
    .regex(/^[a-z][a-z0-9-]{0,31}$/, `expected a name such as "${example}" (lower case, digits, "-")`)
    .refine((name) => name !== reserved, `"${reserved}" names ${reservedFor}`);

/** The name of the provider configured by `oidc` itself. */
export const DEFAULT_PROVIDER = 'default';
/** The name of the app configured by the top level itself. */
export const MAIN_APP = 'main';
/** Keys that belong to the process, not to one app: set once, at the top level. */
export const PROCESS_KEYS = ['server', 'admin', 'gateway', 'tracing', 'log'] as const;

/** The OpenID Provider and this client's registration there: `oidc`, and each of `oidc.providers` merged over it. */
export const oidcSchema = z
  .strictObject({
    issuer: httpUrl.meta({
      description: 'Issuer identifier; metadata is discovered from it and must match it.',
    }),
    clientId: z.string().min(1).meta({ description: 'The client id registered at the provider.' }),
    clientSecret: secret(
      1,
      'a client secret',
      'The client secret, for clientAuth "client_secret_basic" or "client_secret_post". Use ${ENV_VAR} substitution.',
    ).optional(),
    profile: z.enum(['standard', 'fapi2']).default('standard').meta({
      description:
        '"fapi2": the FAPI 2.0 Security Profile\'s client rules (PAR, PKCE S256, private_key_jwt or mTLS, DPoP or mTLS-bound tokens, RFC 9207 iss required, PS256/ES256/EdDSA only); settings that break them are refused. See docs/high-assurance.md.',
    }),
    clientAuth: z.enum(CLIENT_AUTH_METHODS).optional().meta({
      description:
        'How Gatehouse authenticates to the provider: "client_secret_basic", "client_secret_post", "private_key_jwt" (oidc.signingKeys), "tls_client_auth" or "self_signed_tls_client_auth" (oidc.tls). Default: "client_secret_basic"; "private_key_jwt" with profile "fapi2".',
    }),
    signingKeys: z
      .array(
        keySchema(
          SIGNING_ALGS,
          'Signing algorithm. Default: ES256 for P-256, EdDSA for Ed25519, RS256 for RSA (PS256 with profile "fapi2").',
        ),
      )
      .default([])
      .meta({
        description:
          'Private keys Gatehouse signs with: private_key_jwt client assertions and request objects (JAR). The first signs; list a new key first and keep the old one while the provider picks up the change. Their public halves are served at basePath + "/auth/jwks".',
      }),
    decryptionKeys: z
      .array(
        keySchema(ENCRYPTION_ALGS, 'Key management algorithm. Default: RSA-OAEP-256 for RSA, ECDH-ES for EC keys.'),
      )
      .default([])
      .meta({
        description:
          'Private keys for encrypted responses (JARM, ID tokens) the provider encrypts to Gatehouse. Their public halves are served at basePath + "/auth/jwks".',
      }),
    tls: z
      .strictObject({
        certFile: z
          .string()
          .min(1)
          .optional()
          .meta({ description: 'PEM client certificate (chain) Gatehouse presents to the provider.' }),
        keyFile: z.string().min(1).optional().meta({ description: 'PEM private key of that certificate.' }),
        caFile: z.string().min(1).optional().meta({
          description: "PEM file of CAs trusted for the provider's server certificate, in addition to the system's.",
        }),
      })
      .optional()
      .meta({
        description:
          'Mutual TLS to the provider (RFC 8705): the certificate is presented on every call to the provider, at its mtls_endpoint_aliases when it has them.',
      }),
    pushedAuthorizationRequests: z.enum(['auto', 'always', 'never']).optional().meta({
      description:
        'Pushed Authorization Requests (RFC 9126): "auto" uses PAR when the provider offers it, "always" requires it, "never" does not use it. Default: "auto"; "always" with profile "fapi2".',
    }),
    requestObject: z.enum(['auto', 'always', 'never']).default('auto').meta({
      description:
        'Signed request objects (JAR, RFC 9101), sent inside PAR or by value: "auto" when the provider requires them (require_signed_request_object), "always", or "never". Needs oidc.signingKeys.',
    }),
    requestObjectEncryption: z
      .strictObject({
        alg: z.enum(ENCRYPTION_ALGS).meta({ description: 'Key management algorithm, e.g. "RSA-OAEP-256".' }),
        enc: z.enum(['A128GCM', 'A256GCM', 'A128CBC-HS256', 'A256CBC-HS512']).default('A256GCM').meta({
          description: 'Content encryption algorithm.',
        }),
      })
      .optional()
      .meta({ description: "Encrypt request objects to the provider's encryption key (from its JWKS)." }),
    responseMode: z.enum(RESPONSE_MODES).default('query').meta({
      description:
        'How the provider returns the authorization response: "query", "form_post", or JARM ("jwt", "query.jwt", "form_post.jwt": a signed, optionally encrypted, response JWT).',
    }),
    senderConstraint: z.enum(['none', 'dpop', 'mtls']).optional().meta({
      description:
        'Bind user and client tokens to Gatehouse: "dpop" (RFC 9449, a key per session) or "mtls" (RFC 8705 certificate-bound tokens; upstreams get oidc.tls\'s certificate), or "none" (bearer). Default: "none"; "dpop" with profile "fapi2".',
    }),
    dpopSigningAlg: z.enum(['ES256', 'PS256', 'EdDSA']).default('ES256').meta({
      description: 'Algorithm of the DPoP keys Gatehouse generates (one per session).',
    }),
    scopes: z
      .array(scopeToken)
      .refine((s) => s.includes('openid'), 'expected the list to include "openid"')
      .default(['openid', 'profile', 'email', 'offline_access'])
      .meta({
        description: 'Scopes requested at login. Ask for the least you need.',
      }),
    authorizationParams: z.record(z.string(), z.string()).default({}).meta({
      description:
        'Extra authorization request parameters (e.g. prompt, acr_values, resource). Protocol parameters Gatehouse owns are refused.',
    }),
    idTokenSigningAlg: z.enum(['RS256', 'PS256', 'ES256', 'EdDSA']).optional().meta({
      description:
        'The only algorithm accepted on ID token (and JARM response) signatures. Default: "RS256"; "PS256" with profile "fapi2".',
    }),
    postLogoutRedirectUri: httpUrl.optional().meta({
      description: 'Registered post_logout_redirect_uri. Default: publicUrl + "/".',
    }),
    timeout: duration.prefault('10s').meta({ description: 'Timeout of every call to the provider.' }),
    refreshSkew: duration.prefault('30s').meta({
      description:
        'Refresh an access token this long before it expires (capped at half its lifetime). "0s" refreshes only once expired.',
    }),
    backchannelLogout: bool().optional().meta({
      description:
        'Accept OIDC Back-Channel Logout at basePath + "/auth/backchannel-logout". Default: on, except with store "cookie" (which cannot end sessions server-side).',
    }),
    rolesClaim: z.string().min(1).default('roles').meta({
      description:
        'The ID token claim holding the user\'s roles, for authorize.roles (e.g. "groups", "cognito:groups", "realm_access.roles").',
    }),
    loginTimeout: duration.prefault('10m').meta({
      description: 'How long a started sign-in may take before its transaction expires.',
    }),
    providers: z
      .record(
        entryName('partner', DEFAULT_PROVIDER, 'the provider of oidc itself'),
        z.record(z.string(), z.unknown()).meta({
          description:
            'Any oidc key: issuer and clientId (required), clientSecret, clientAuth, scopes, ...; keys not set, but for issuer, clientId and clientSecret, are taken from oidc.',
        }),
      )
      .default({})
      .meta({
        description:
          'More providers to sign in with, by name: /auth/login?provider=<name>. oidc itself is the provider named "default", used when none is named. A session keeps to the provider it signed in with (refresh, logout, back-channel logout). Each needs its own issuer. See docs/apps-and-providers.md.',
      }),
    allowInsecureHttp: bool().default(false).meta({
      description:
        'Development only: accept an http:// issuer. Refused when NODE_ENV=production. Never use it in production.',
    }),
  })
  .meta({ description: "The OpenID Provider and this client's registration there." });

/** Tight enough for an SPA served from 'self'; loosen per app with security.headers.contentSecurityPolicy. */
export const DEFAULT_CSP =
  "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'";

export const configSchema = z.strictObject({
  publicUrl: httpUrl.meta({
    description:
      'The origin the browser uses (https://app.example.com). redirect_uri and the post-logout URL are built from it, never from Host or X-Forwarded-* headers.',
  }),
  basePath: z.string().regex(segment, 'expected a path such as "/api"').default('/api').meta({
    description: 'Prefix of every Gatehouse endpoint; a CDN sends basePath/* here.',
  }),
  server: z
    .strictObject({
      host: z.string().default('0.0.0.0').meta({ description: 'Interface the public listener binds.' }),
      port: port().default(8080).meta({ description: 'Public listener port.' }),
      trustProxy: z
        .preprocess(fromEnvString, z.union([z.boolean(), z.array(z.string().min(1))]))
        .default(false)
        .meta({
          description:
            'Whose X-Forwarded-For to believe for the client IP: false (nobody), a list of proxy addresses or CIDRs (e.g. the load balancer subnets), or true (everybody: only when nothing can reach Gatehouse except through those proxies).',
        }),
      bodyLimit: positiveInt().default(1_048_576).meta({
        description: 'Largest request body, in bytes, Gatehouse accepts for its own endpoints.',
      }),
      maxHeaderSize: positiveInt()
        .default(16 * 1024)
        .meta({ description: 'Largest request header block, in bytes; bigger requests get 431.' }),
      shutdownTimeout: duration.prefault('10s').meta({
        description:
          'On SIGTERM/SIGINT: stop accepting, let in-flight requests finish for at most this long, then exit (0 if they all finished, 1 if not).',
      }),
    })
    .prefault({})
    .meta({ description: 'The public listener (browser traffic).' }),
  admin: z
    .strictObject({
      enabled: bool().default(true).meta({ description: 'Start the admin listener (/healthz, /readyz, /metrics).' }),
      metrics: bool()
        .default(true)
        .meta({ description: 'Serve Prometheus metrics at /metrics on the admin listener.' }),
      host: z.string().default('127.0.0.1').meta({ description: 'Interface the admin listener binds.' }),
      port: port().default(9090).meta({ description: 'Admin listener port.' }),
      token: secret(
        32,
        'an admin token',
        'Bearer token for session admin (/sessions). Unset: session admin is off; health endpoints need no token.',
      ).optional(),
    })
    .prefault({})
    .meta({ description: 'The admin listener: health and operations, never exposed publicly.' }),
  gateway: z
    .strictObject({
      enabled: bool().default(false).meta({
        description:
          "Answer an API gateway's forward-auth calls (nginx auth_request, Caddy forward_auth, Traefik forwardAuth, Envoy ext_authz) on a listener of their own: the gateway proxies the API calls, Gatehouse decides and hands it the token (docs/gateway.md).",
      }),
      host: z.string().default('127.0.0.1').meta({
        description: 'Interface the gateway listener binds. Never reachable by browsers: it hands out tokens.',
      }),
      port: port().default(9091).meta({ description: 'Gateway listener port.' }),
      secret: secret(
        32,
        'a gateway secret',
        'Value of the X-Gatehouse-Gateway header every forward-auth call must carry; others get 401. Required when gateway.host is not a loopback address.',
      ).optional(),
      cacheTtl: duration.prefault('5s').meta({
        description:
          'The longest a caching gateway may keep reusing a yes: a session that ended is refused within this time. Answers carry Cache-Control max-age of this less one second (caches count whole seconds), never past the token\'s refresh time, never for DPoP proofs. Below "2s": never reuse.',
      }),
    })
    .prefault({})
    .meta({ description: 'The decision point for an API gateway in front of the APIs (forward auth).' }),
  oidc: oidcSchema,
  session: z
    .strictObject({
      store: z.enum(['memory', 'redis', 'cookie', 'durable-object']).default('memory').meta({
        description:
          'Where sessions live. "memory": this process (one instance; lost on restart). "redis": shared by every instance. "cookie": sealed into the browser\'s cookies, no store (no server-side revocation: see docs). "durable-object": Cloudflare Workers only (docs/deploy-cloudflare.md).',
      }),
      cookieName: z
        .string()
        .regex(/^__Host-[A-Za-z0-9_-]+$/, 'expected a cookie name starting with "__Host-"')
        .default('__Host-gatehouse')
        .meta({
          description: 'Session cookie name. The __Host- prefix is required (Secure, Path=/, no Domain).',
        }),
      websocketCheckInterval: duration.prefault('30s').meta({
        description:
          'How often open WebSocket connections check that their session is still live (ended elsewhere, e.g. on another instance). Sessions ended by this instance close their sockets at once.',
      }),
      persistent: bool().default(false).meta({
        description: 'false: a browser-session cookie. true: Max-Age equal to the absolute timeout.',
      }),
      idleTimeout: duration.prefault('30m').meta({ description: 'A session unused this long ends.' }),
      endingSoon: duration.prefault('2m').meta({
        description:
          'How long before a session ends (idle or absolute timeout) GET /api/auth/events tells the SPA "ending-soon".',
      }),
      absoluteTimeout: duration.prefault('8h').meta({ description: 'A session ends this long after sign-in.' }),
      secrets: z.array(secret(32, 'a secret')).min(1, 'expected at least one secret').meta({
        description:
          'Keys that encrypt the login-transaction cookie. The first encrypts; all decrypt, so add a new one first to rotate.',
      }),
      memory: z
        .strictObject({
          maxSessions: positiveInt().default(10_000).meta({
            description: 'Most sessions kept; the least recently used go first.',
          }),
        })
        .prefault({})
        .meta({ description: 'Settings of the "memory" store.' }),
      redis: z
        .strictObject({
          mode: z.enum(['standalone', 'sentinel', 'cluster']).default('standalone').meta({
            description: 'How to reach Redis: one server (url), Sentinel (nodes + sentinelName), or Cluster (nodes).',
          }),
          url: z
            .string()
            .regex(/^rediss?:\/\//, 'expected a redis:// or rediss:// URL')
            .optional()
            .meta({ description: 'Standalone server, e.g. "rediss://cache.internal:6379/0" (rediss: TLS).' }),
          nodes: z
            .array(z.string().regex(/^[^\s:]+:\d+$/, 'expected "host:port"'))
            .default([])
            .meta({ description: 'Sentinel or cluster nodes, "host:port" each.' }),
          sentinelName: z.string().optional().meta({ description: 'Sentinel: the name of the monitored master.' }),
          username: z.string().optional().meta({ description: 'ACL user name (Redis 6+, ElastiCache RBAC).' }),
          password: secret(1, 'a password', 'AUTH password or ACL password. Use ${ENV_VAR} substitution.').optional(),
          tls: bool()
            .default(false)
            .meta({ description: 'Connect with TLS (implied by rediss://). Certificates are verified.' }),
          tlsCaFile: z
            .string()
            .optional()
            .meta({ description: 'PEM file of the CA that signed the server certificate, when not a public CA.' }),
          keyPrefix: z
            .string()
            .default('gatehouse:')
            .meta({ description: 'Prefix of every key, so several apps can share one Redis.' }),
          commandTimeout: duration.prefault('1s').meta({
            description: 'A command not answered in this time fails; the request gets 503 session_store_unavailable.',
          }),
          connectTimeout: duration.prefault('5s').meta({ description: 'Time allowed to (re)connect.' }),
          cache: bool().default(true).meta({
            description:
              'Standalone mode: keep recently used sessions in memory, kept exact by Redis invalidation messages (CLIENT TRACKING, Redis 6+), so most API calls need no Redis round trip. A session changed or ended elsewhere is dropped from every cache as Redis reports it; while the invalidation connection is down the cache is off.',
          }),
        })
        .optional()
        .meta({ description: 'Settings of the "redis" store.' }),
      cookieMode: z
        .strictObject({
          maxChunks: positiveInt().default(4).meta({
            description:
              'Most cookies one sealed session may span (each at most 4096 bytes). A bigger session fails sign-in with session_too_large.',
          }),
        })
        .prefault({})
        .meta({ description: 'Settings of the "cookie" store.' }),
    })
    .meta({ description: 'Sessions: cookie, lifetime, storage.' }),
  routes: z.array(routeSchema).default([]).meta({ description: 'API routes proxied to upstreams.' }),
  upstreams: z
    .record(z.string().regex(/^[A-Za-z][A-Za-z0-9_]*$/, 'expected a name such as "orders"'), upstreamSchema)
    .default({})
    .meta({ description: 'Named upstreams that extension endpoints call (see docs/extending.md).' }),
  extensions: z.array(z.string().min(1)).default([]).meta({
    description:
      'Extension modules to load: paths relative to the configuration file ("./dashboard.js") or package names. Each default-exports defineExtension({...}).',
  }),
  static: z
    .strictObject({
      root: z.string().optional().meta({
        description: 'Folder of the SPA build to serve at "/". Unset: none.',
      }),
      index: z.string().default('index.html').meta({ description: 'The SPA entry file, served for deep links.' }),
      immutable: z
        .array(z.string().regex(/^\/(?:[^/]+\/)*$/, 'expected a folder path such as "/assets/"'))
        .default(['/assets/'])
        .meta({
          description:
            'Folders whose files have a content hash in their name (Vite and Rollup: /assets/), cached by browsers and CDNs for a year without revalidation. Everything else is revalidated on every use (ETag).',
        }),
      precompressed: bool().default(true).meta({
        description: 'Serve file.br or file.gz in place of file when they exist and the browser accepts them.',
      }),
    })
    .prefault({})
    .meta({ description: 'Hosting the single-page app.' }),
  security: z
    .strictObject({
      csrfHeader: z
        .string()
        .regex(/^[A-Za-z0-9-]+$/, 'expected a header name')
        .default('x-csrf')
        .meta({
          description: 'The anti-forgery header every cookie-authenticated API call must carry, with the value "1".',
        }),
      allowedOrigins: z.array(httpUrl).default([]).meta({
        description:
          'Other origins allowed to call the API with credentials (CORS and the Origin check). Exact origins only; never "*" or "null". The session cookie is SameSite=Strict, so only same-site origins (e.g. www.example.com calling app.example.com) can use a session.',
      }),
      allowSameSite: bool().default(false).meta({
        description: 'Trust requests a browser marks Sec-Fetch-Site: same-site (sibling subdomains). Off: refused.',
      }),
      originVerify: z
        .strictObject({
          header: z
            .string()
            .regex(/^[A-Za-z0-9-]+$/, 'expected a header name')
            .default('x-origin-verify')
            .meta({ description: 'The header the CDN adds to every request it forwards.' }),
          secrets: z
            .array(secret(16, 'a secret'))
            .min(1)
            .max(2, 'expected at most two values (current and next, while rotating)')
            .meta({ description: 'Accepted values; two during a rotation.' }),
        })
        .optional()
        .meta({
          description:
            'Behind a CDN: refuse (403) every public request without the secret header, so nobody bypasses the CDN. The admin listener is not affected.',
        }),
      headers: z
        .strictObject({
          contentSecurityPolicy: z.string().default(DEFAULT_CSP).meta({
            description: "Content-Security-Policy of the SPA's pages. API responses get \"default-src 'none'\".",
          }),
          hsts: bool().default(true).meta({
            description:
              'Send Strict-Transport-Security (1 year, subdomains) when publicUrl is https (and not a localhost or loopback address).',
          }),
        })
        .prefault({})
        .meta({ description: 'Security headers on every response.' }),
    })
    .prefault({})
    .meta({ description: 'Browser-facing defences.' }),
  rateLimit: z
    .strictObject({
      enabled: bool().default(true).meta({ description: 'Apply the limits below (429 with Retry-After past them).' }),
      store: z.enum(['memory', 'redis']).default('memory').meta({
        description: 'Where counters live: "memory" (per instance) or "redis" (shared; needs session.store "redis").',
      }),
      perIp: limit()
        .prefault({ requests: 3000, window: '1m' })
        .meta({ description: 'Requests per client IP (see server.trustProxy), all endpoints.' }),
      perSession: limit().prefault({ requests: 600, window: '1m' }).meta({ description: 'API calls per session.' }),
      signIn: limit()
        .prefault({ requests: 60, window: '1m' })
        .meta({ description: 'Sign-in starts and callbacks per client IP.' }),
    })
    .prefault({})
    .meta({ description: 'Rate limits.' }),
  tracing: z
    .strictObject({
      enabled: bool().default(false).meta({
        description:
          'Export OpenTelemetry traces over OTLP/HTTP: a span per request and per upstream call, with traceparent sent to upstreams.',
      }),
      endpoint: httpUrl.optional().meta({
        description:
          'OTLP/HTTP traces URL, e.g. "http://otel-collector:4318/v1/traces". Unset: OTEL_EXPORTER_OTLP_TRACES_ENDPOINT / OTEL_EXPORTER_OTLP_ENDPOINT, else http://localhost:4318/v1/traces.',
      }),
      serviceName: z.string().min(1).default('gatehouse').meta({ description: 'service.name of the exported spans.' }),
      sampleRatio: z
        .preprocess(fromEnvString, z.number().min(0).max(1))
        .default(1)
        .meta({ description: 'Share of new traces recorded (0 to 1); a continued trace follows its parent.' }),
      trustIncoming: bool().default(false).meta({
        description:
          "Continue the trace named by a request's traceparent header. Off: every request starts a new trace (the header comes from the browser, which anyone controls).",
      }),
    })
    .prefault({})
    .meta({ description: 'OpenTelemetry tracing.' }),
  apps: z
    .record(
      entryName('admin', MAIN_APP, 'the app of the top level itself'),
      z
        .looseObject({
          pathPrefix: z.string().regex(segment, 'expected a path such as "/admin"').optional().meta({
            description:
              'Serve this app under a path of its publicUrl\'s host (e.g. "/admin"): its endpoints at pathPrefix + basePath, its SPA at pathPrefix + "/". Unset: the whole host.',
          }),
        })
        .meta({
          description:
            'Any top-level key except server, admin, gateway, tracing and log (publicUrl, oidc, session, routes, upstreams, extensions, static, security, rateLimit, basePath); keys not set are taken from the top level (objects merged key by key; lists, oidc.providers and upstreams replaced whole).',
        }),
    )
    .default({})
    .meta({
      description:
        'More frontends served by this Gatehouse, by name, each chosen by the host name of its publicUrl and its pathPrefix (the top level is the app named "main", which answers everything else). Each has its own sessions, which never cross to another app. See docs/apps-and-providers.md.',
    }),
  log: z
    .strictObject({
      level: z
        .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
        .default('info')
        .meta({ description: 'Log level (pino).' }),
    })
    .prefault({})
    .meta({ description: 'Logging.' }),
});

/** The configuration as a user writes it. */
export type GatehouseConfigInput = z.input<typeof configSchema>;
/** The parsed configuration: defaults applied, durations in milliseconds. */
export type ParsedConfig = z.output<typeof configSchema>;
export type ParsedRoute = ParsedConfig['routes'][number];
export type AccessRule = z.output<typeof accessRuleSchema>;
/** An access rule as written (durations as strings). */
export type AccessRuleInput = z.input<typeof accessRuleSchema>;
/** Which token a route or upstream carries, as parsed. */
export type TokenChoiceConfig = z.output<typeof tokenChoice>;
/** The exchange settings of a token choice. */
export type ExchangeConfig = Extract<TokenChoiceConfig, { exchange: unknown }>['exchange'];

export function isExchange(token: TokenChoiceConfig): token is { exchange: ExchangeConfig } {
  return typeof token === 'object';
}
