/**
 * The parts of a Gatehouse configuration document that do not depend on where Gatehouse runs:
 * the OIDC client, the routes, `${NAME}` references to secrets, and the user's overrides. The
 * container variant (gatehouse-config.ts) and the Lambda variant (lambda-config.ts) each add what
 * their runtime needs around them.
 */

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
  /** Proxy WebSocket upgrades on this route (container variant only). @default false */
  readonly websocket?: boolean;
  /** Time allowed for the upstream's headers and between body chunks, e.g. "20s". @default Gatehouse's (30s) */
  readonly timeout?: string;
}

/** The client registration at the OpenID Provider (the client secret is passed separately). */
export interface OidcSettings {
  readonly issuer: string;
  readonly clientId: string;
  /** @default Gatehouse's: openid, profile, email, offline_access */
  readonly scopes?: string[];
}

/**
 * The names the configuration refers to as `${NAME}`; Gatehouse substitutes them at startup from
 * its environment (ECS fills it from Secrets Manager; on Lambda, one Secrets Manager secret holds
 * them all), so no secret is ever in the configuration.
 */
export const SECRET_ENV = {
  oidcClientSecret: 'OIDC_CLIENT_SECRET',
  sessionSecret: 'SESSION_SECRET',
  redisPassword: 'REDIS_PASSWORD',
  originVerify: 'ORIGIN_VERIFY_SECRET',
  originVerifyStandby: 'ORIGIN_VERIFY_SECRET_STANDBY',
} as const;

export const DEFAULT_SCOPES = ['openid', 'profile', 'email', 'offline_access'];

/** `${NAME}`: Gatehouse's environment substitution. */
export const envReference = (name: string) => `\${${name}}`;

/** `oidc`: the client, its secret by reference. */
export function oidcSection(oidc: OidcSettings): Record<string, unknown> {
  return {
    issuer: oidc.issuer,
    clientId: oidc.clientId,
    clientSecret: envReference(SECRET_ENV.oidcClientSecret),
    scopes: oidc.scopes ?? DEFAULT_SCOPES,
  };
}

/** `routes`: copies, so the document never shares objects with the caller's settings. */
export function routesSection(routes: readonly GatehouseRoute[]): Record<string, unknown>[] {
  return routes.map((route) => ({ ...route }));
}

/** The document with `overrides` deep-merged over it (lists are replaced, not merged). */
export function withOverrides(
  document: Record<string, unknown>,
  overrides: Record<string, unknown> | undefined,
): Record<string, unknown> {
  return overrides ? merge(document, overrides) : document;
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
