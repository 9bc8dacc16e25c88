import type { GatehouseConfig } from './config/load.js';
import { LoginTransactions } from './oidc/login-transaction.js';
import type { ClientIdentity } from './oidc/client-identity.js';
import { Providers } from './oidc/providers.js';
import type { Metrics } from './ops/metrics.js';
import type { Tracing } from './ops/tracing.js';
import { Authorizer } from './security/authorization.js';
import { RequestChecks } from './security/request-checks.js';
import { RateLimiter, type Counters } from './security/rate-limit.js';
import { CookieSessions } from './session/cookie-sessions.js';
import type { SessionManager } from './session/session-manager.js';
import type { SessionStore } from './session/store.js';
import { StoreSessions } from './session/store-sessions.js';
import { signInResources } from './tokens/derived-tokens.js';
import { TokenManager } from './tokens/token-manager.js';

/** The long-lived parts every endpoint works with; built once per process by createServices(). */
export interface Services {
  readonly config: GatehouseConfig;
  /** The providers users sign in with (`oidc` and `oidc.providers`). */
  readonly providers: Providers;
  readonly sessions: SessionManager;
  readonly transactions: LoginTransactions;
  readonly tokens: TokenManager;
  readonly checks: RequestChecks;
  readonly authorizer: Authorizer;
  readonly limits: RateLimiter;
  /** Prometheus metrics (Node); absent where there is no admin listener to serve them. */
  readonly metrics: Metrics | undefined;
  /** Present when tracing.enabled (Node). */
  readonly tracing: Tracing | undefined;
  /** Set once close() has begun: responses then close their connections. */
  readonly lifecycle: { closing: boolean };
}

/** What each runtime brings: the parts that differ between Node, Workers and Lambda. */
export interface RuntimeParts {
  /** How Gatehouse authenticates to each provider, and the fetch its calls go through (loadIdentities). */
  identities: ReadonlyMap<string, ClientIdentity>;
  /** Where sessions live; undefined in cookie mode. */
  store: SessionStore | undefined;
  /** Where rate-limit counters live. */
  counters: Counters;
  metrics?: Metrics;
  tracing?: Tracing;
}

/** The services of one Gatehouse, the same on every runtime. */
export function createServices(config: GatehouseConfig, parts: RuntimeParts): Services {
  const providers = new Providers(
    config,
    parts.identities,
    signInResources([...config.routes, ...Object.values(config.upstreams)]),
  );
  const sessions: SessionManager = parts.store ? new StoreSessions(config, parts.store) : new CookieSessions(config);
  return {
    config,
    providers,
    sessions,
    tokens: new TokenManager(config, providers, sessions, parts.metrics),
    metrics: parts.metrics,
    tracing: parts.tracing,
    checks: new RequestChecks(config),
    authorizer: new Authorizer(config),
    lifecycle: { closing: false },
    limits: new RateLimiter(config.rateLimit, parts.counters),
    transactions: new LoginTransactions({
      secrets: config.session.secrets,
      app: config.app,
      sessionCookieName: config.session.cookieName,
    }),
  };
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Errors on this route are answered with an HTML page when the browser navigated here. */
    htmlErrors?: boolean;
  }
}
