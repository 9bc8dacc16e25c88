import type { GatehouseConfig } from './config/load.js';
import type { LoginTransactions } from './oidc/login-transaction.js';
import type { OidcClient } from './oidc/client.js';
import type { Metrics } from './ops/metrics.js';
import type { Tracing } from './ops/tracing.js';
import type { Authorizer } from './security/authorization.js';
import type { RequestChecks } from './security/request-checks.js';
import type { RateLimiter } from './security/rate-limit.js';
import type { SessionManager } from './session/session-manager.js';
import type { TokenManager } from './tokens/token-manager.js';

/** The long-lived parts every route plugin works with; built once in server.ts. */
export interface Services {
  readonly config: GatehouseConfig;
  readonly oidc: OidcClient;
  readonly sessions: SessionManager;
  readonly transactions: LoginTransactions;
  readonly tokens: TokenManager;
  readonly checks: RequestChecks;
  readonly authorizer: Authorizer;
  readonly limits: RateLimiter;
  readonly metrics: Metrics;
  /** Present when tracing.enabled. */
  readonly tracing: Tracing | undefined;
  /** Set once close() has begun: responses then close their connections. */
  readonly lifecycle: { closing: boolean };
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Errors on this route are answered with an HTML page when the browser navigated here. */
    htmlErrors?: boolean;
  }
}
