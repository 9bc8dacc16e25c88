import {
  envReference,
  oidcSection,
  routesSection,
  SECRET_ENV,
  withOverrides,
  type GatehouseRoute,
  type OidcSettings,
} from './config-document.js';
import { ADMIN_PORT, PUBLIC_PORT } from './load-balancer.js';
import { ORIGIN_VERIFY_HEADER } from './origin-verify.js';

export { DEFAULT_SCOPES, SECRET_ENV, type GatehouseRoute, type OidcSettings } from './config-document.js';

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

/** The Gatehouse configuration document for one Fargate task; every key is one of docs/configuration.md. */
export function gatehouseConfig(input: GatehouseConfigInput): Record<string, unknown> {
  const originVerifySecrets = [envReference(SECRET_ENV.originVerify)];
  if (input.originVerifyStandby) originVerifySecrets.push(envReference(SECRET_ENV.originVerifyStandby));
  const document = {
    publicUrl: `https://${input.domainName}`,
    server: { host: '0.0.0.0', port: PUBLIC_PORT, trustProxy: input.trustProxy },
    // Bound to all interfaces so the load balancer's health check reaches it; the task's security
    // group lets only the load balancer in, and nothing routes the public listener's traffic here.
    admin: { host: '0.0.0.0', port: ADMIN_PORT },
    oidc: oidcSection(input.oidc),
    session: {
      store: 'redis',
      secrets: [envReference(SECRET_ENV.sessionSecret)],
      redis: {
        url: `rediss://${input.redis.host}:${input.redis.port}`,
        password: envReference(SECRET_ENV.redisPassword),
        tls: true,
      },
    },
    security: {
      originVerify: { header: ORIGIN_VERIFY_HEADER.toLowerCase(), secrets: originVerifySecrets },
    },
    // Every task counts against the same limits.
    rateLimit: { store: 'redis' },
    routes: routesSection(input.routes),
  };
  return withOverrides(document, input.overrides);
}
