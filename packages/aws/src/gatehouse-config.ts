import { ADMIN_PORT, PUBLIC_PORT } from './load-balancer.js';
import { ORIGIN_VERIFY_HEADER } from './origin-verify.js';

/** An API route Gatehouse proxies: `routes[]` in docs/configuration.md. */
export interface GatehouseRoute {
  /** Path under /api: "/orders" serves /api/orders and everything below it. */
  readonly path: string;
  /** Base URL of the internal API, e.g. http://orders.internal:8080/v1/orders. */
  readonly upstream: string;
  /** Which token goes upstream. @default 'user' */
  readonly token?: 'user' | 'client' | 'user-or-client' | 'none';
  /** Scope of client-credentials tokens ("client", "user-or-client"). */
  readonly scope?: string;
  /** Proxy WebSocket upgrades on this route. @default false */
  readonly websocket?: boolean;
}

/** The client registration at the OpenID Provider (the client secret is passed separately). */
export interface OidcSettings {
  readonly issuer: string;
  readonly clientId: string;
  /** @default Gatehouse's: openid, profile, email, offline_access */
  readonly scopes?: string[];
}

/**
 * Environment variables the ECS task fills from Secrets Manager; the configuration refers to them as
 * `${NAME}` and Gatehouse substitutes them at startup, so no secret is ever in the configuration.
 */
export const SECRET_ENV = {
  oidcClientSecret: 'OIDC_CLIENT_SECRET',
  sessionSecret: 'SESSION_SECRET',
  redisPassword: 'REDIS_PASSWORD',
  originVerify: 'ORIGIN_VERIFY_SECRET',
  originVerifyStandby: 'ORIGIN_VERIFY_SECRET_STANDBY',
} as const;

export const DEFAULT_SCOPES = ['openid', 'profile', 'email', 'offline_access'];

export interface GatehouseConfigInput {
  /** The domain the browser uses; publicUrl is https://<domainName>. */
  readonly domainName: string;
  /** Addresses or CIDRs whose X-Forwarded-For Gatehouse believes (server.trustProxy). */
  readonly trustProxy: string[];
  readonly oidc: OidcSettings;
  readonly redis: { readonly host: string; readonly port: string };
  /** Accept the standby origin-verify secret too (while rotating). */
  readonly originVerifyStandby: boolean;
  readonly routes: readonly GatehouseRoute[];
  /** Deep-merged over the generated document (lists are replaced), e.g. `{ log: { level: 'debug' } }`. */
  readonly overrides?: Record<string, unknown>;
}

const env = (name: string) => `\${${name}}`;

/** The Gatehouse configuration document for one task; every key is one of docs/configuration.md. */
export function gatehouseConfig(input: GatehouseConfigInput): Record<string, unknown> {
  const originVerifySecrets = [env(SECRET_ENV.originVerify)];
  if (input.originVerifyStandby) originVerifySecrets.push(env(SECRET_ENV.originVerifyStandby));
  const document = {
    publicUrl: `https://${input.domainName}`,
    server: { host: '0.0.0.0', port: PUBLIC_PORT, trustProxy: input.trustProxy },
    // Bound to all interfaces so the load balancer's health check reaches it; the task's security
    // group lets only the load balancer in, and nothing routes the public listener's traffic here.
    admin: { host: '0.0.0.0', port: ADMIN_PORT },
    oidc: {
      issuer: input.oidc.issuer,
      clientId: input.oidc.clientId,
      clientSecret: env(SECRET_ENV.oidcClientSecret),
      scopes: input.oidc.scopes ?? DEFAULT_SCOPES,
    },
    session: {
      store: 'redis',
      secrets: [env(SECRET_ENV.sessionSecret)],
      redis: {
        url: `rediss://${input.redis.host}:${input.redis.port}`,
        password: env(SECRET_ENV.redisPassword),
        tls: true,
      },
    },
    security: {
      originVerify: { header: ORIGIN_VERIFY_HEADER.toLowerCase(), secrets: originVerifySecrets },
    },
    // Every task counts against the same limits.
    rateLimit: { store: 'redis' },
    routes: input.routes.map((route) => ({ ...route })),
  };
  return input.overrides ? merge(document, input.overrides) : document;
}

function isMapping(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function merge(base: Record<string, unknown>, overrides: Record<string, unknown>): Record<string, unknown> {
  const result = { ...base };
  for (const [name, value] of Object.entries(overrides)) {
    const current = result[name];
    result[name] = isMapping(current) && isMapping(value) ? merge(current, value) : value;
  }
  return result;
}
