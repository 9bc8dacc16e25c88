/**
 * Assembles Gatehouse: the public Fastify app (auth endpoints, proxied routes, SPA) and the admin
 * listener (health), from one validated configuration.
 */
import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import fastifyCookie from '@fastify/cookie';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { isEffectiveConfig, parseConfig, type GatehouseConfig } from './config/load.js';
import type { GatehouseConfigInput } from './config/schema.js';
import { GatehouseError, toGatehouseError } from './errors.js';
import { answerClientError, answerError } from './http-errors.js';
import { authRoutes } from './oidc/auth-routes.js';
import { fastifyRouter } from './node/fastify-router.js';
import { undiciTransports } from './node/undici-transport.js';
import { undiciTlsFetch } from './node/tls-fetch.js';
import { backchannelRoute } from './oidc/backchannel-route.js';
import { loadIdentities } from './oidc/providers.js';
import { appSwitch } from './node/app-switch.js';
import { MAIN_APP } from './config/schema.js';
import type { SessionStore } from './session/store.js';
import { adminRoutes } from './ops/admin.js';
import { gatewayRoutes } from './gateway/forward-auth.js';
import { extensionEndpoints } from './extensions/endpoints.js';
import { sessionEventsRoute } from './session/session-events.js';
import { loadExtensions } from './extensions/load.js';
import type { Extension } from './extensions/types.js';
import { NamedUpstream } from './extensions/upstream-client.js';
import { lazyChildLogger, loggerOptions } from './ops/logger.js';
import { ProxiedRoute } from './proxy/proxied-route.js';
import { proxyRoutes } from './proxy/proxy-routes.js';
import { websocketProxy } from './proxy/websocket.js';
import { createServices, type Services } from './services.js';
import { createStore } from './session/create-store.js';
import type { RedisStore } from './session/redis-store.js';
import { securityHooks } from './security/hooks.js';
import { MemoryCounters } from './security/rate-limit.js';
import { instrumentStore, Metrics } from './ops/metrics.js';
import { Tracing } from './ops/tracing.js';
import { isDeepLink, sendIndex, spaRoutes } from './static/spa.js';

export interface Gatehouse {
  readonly config: GatehouseConfig;
  /** The public app. Add your own routes or hooks before calling listen(). */
  readonly app: FastifyInstance;
  /** The admin listener (/healthz, /readyz), when enabled. */
  readonly admin: FastifyInstance | undefined;
  readonly services: Services;
  /** Starts the listeners; resolves with their URLs. */
  listen(): Promise<{ url: string; adminUrl?: string; gatewayUrl?: string }>;
  /** Stops accepting connections, lets in-flight requests finish, and releases everything. */
  close(): Promise<void>;
}

/**
 * Builds a Gatehouse from a configuration object (as written in a config file, or already loaded
 * with loadConfigFile). Invalid configuration throws a ConfigError naming every bad key.
 */
export interface GatehouseOptions {
  /** Where the JSON log lines go instead of standard output (embedding, tests). */
  logStream?: { write(line: string): void };
  /**
   * Under `gatehouse start --workers N`: a "worker" serves the public listener only and reports its
   * metrics to the primary; the "primary" serves the admin listener only, with the workers' metrics.
   */
  cluster?: 'primary' | 'worker';
  /** Extensions given as code, in addition to the configuration's `extensions` modules. */
  extensions?: readonly Extension[];
}

export async function createGatehouse(
  input: GatehouseConfigInput | GatehouseConfig,
  options: GatehouseOptions = {},
): Promise<Gatehouse> {
  const config = isEffectiveConfig(input) ? input : parseConfig(input);
  const metrics = new Metrics(options.cluster);
  const tracing = await Tracing.start(config.tracing);
  const main = await buildApp(config, {
    metrics,
    tracing,
    extensions: options.extensions,
    logStream: options.logStream,
  });
  // The other apps log through the main app's logger, each line naming its app.
  const others = await Promise.all(
    config.apps.map((appConfig) =>
      buildApp(appConfig, { metrics, tracing, logger: main.app.log.child({ app: appConfig.app }) }),
    ),
  );
  const apps = [main, ...others];
  metrics.countSessionsOf(apps.map(({ store }) => store));
  const { app, services, routes } = main;
  // One listener for every app: a request goes to the app of its host and path (apps/app-switch.ts).
  const listener = others.length > 0 ? appSwitch(apps, config) : undefined;

  const gateway = config.gateway.enabled
    ? Fastify({
        loggerInstance: app.log.child({ listener: 'gateway' }),
        logController: new LogController({ disableRequestLogging: true }),
        // The gateway is the one hop in front: the client is the last X-Forwarded-For entry it adds.
        trustProxy: (_address: string, hop: number) => hop === 0,
        genReqId: () => randomUUID(),
        http: { maxHeaderSize: config.server.maxHeaderSize },
      })
    : undefined;
  if (gateway) {
    gateway.setErrorHandler(main.onError);
    await gateway.register(fastifyCookie);
    await gateway.register(async (scope) => gatewayRoutes(scope, services, routes));
  }

  const admin = config.admin.enabled
    ? Fastify({
        loggerInstance: app.log.child({ listener: 'admin' }),
        logController: new LogController({ disableRequestLogging: true }),
      })
    : undefined;
  if (admin) {
    admin.setErrorHandler(main.onError);
    await admin.register(async (scope) =>
      adminRoutes(
        scope,
        apps.map((one) => one.services),
      ),
    );
  }

  return {
    config,
    app,
    admin,
    services,
    async listen() {
      // Serve from the first request on when the store is up; when it is not, start anyway: requests
      // get 503 session_store_unavailable and /readyz says so until it comes back.
      await Promise.all(
        apps.map(({ services: { sessions, config: appConfig } }) =>
          sessions.connect(appConfig.session.redis?.connectTimeout ?? 0).catch((error: unknown) => {
            app.log.error(
              { err: error, app: appConfig.app },
              'session store not reachable at startup; retrying in the background',
            );
          }),
        ),
      );
      let url = config.publicUrl;
      let gatewayUrl: string | undefined;
      if (options.cluster !== 'primary') {
        if (listener) {
          await Promise.all(apps.map((one) => one.app.ready()));
          url = `http://${hostForUrl(await listener.listen(config.server.host, config.server.port))}`;
        } else {
          await app.listen({ host: config.server.host, port: config.server.port });
          url = `http://${hostForUrl(app.server.address() as AddressInfo)}`;
        }
        if (gateway) {
          await gateway.listen({ host: config.gateway.host, port: config.gateway.port });
          gatewayUrl = `http://${hostForUrl(gateway.server.address() as AddressInfo)}`;
        }
      }
      if (!admin || options.cluster === 'worker') return { url, gatewayUrl };
      await admin.listen({ host: config.admin.host, port: config.admin.port });
      return {
        url,
        gatewayUrl,
        adminUrl: `http://${hostForUrl(admin.server.address() as AddressInfo)}`,
      };
    },
    async close() {
      for (const one of apps) one.services.lifecycle.closing = true;
      await admin?.close();
      await gateway?.close();
      await listener?.close();
      for (const one of apps) {
        await one.app.close();
        await one.services.sessions.close();
        await one.services.providers.close();
      }
    },
  };
}

/** One app, ready to serve: its Fastify instance, services and routes. */
interface BuiltApp {
  app: FastifyInstance;
  services: Services;
  store: SessionStore | undefined;
  routes: ProxiedRoute[];
  onError: ReturnType<typeof answerError>;
}

/**
 * Builds one app's public Fastify instance: auth endpoints, session events, back-channel logout,
 * extension endpoints, proxied routes, WebSockets and the SPA, with its own services (store,
 * providers, limits).
 */
async function buildApp(
  config: GatehouseConfig,
  shared: {
    metrics: Metrics;
    tracing: Tracing | undefined;
    extensions?: readonly Extension[];
    logStream?: { write(line: string): void };
    logger?: FastifyBaseLogger;
  },
): Promise<BuiltApp> {
  const { metrics, tracing } = shared;
  const extensions = await loadExtensions(config, shared.extensions);
  const app = Fastify({
    ...(shared.logger
      ? { loggerInstance: shared.logger }
      : { logger: { ...loggerOptions(config), ...(shared.logStream ? { stream: shared.logStream } : {}) } }),
    trustProxy: config.server.trustProxy,
    bodyLimit: config.server.bodyLimit,
    requestIdHeader: false,
    genReqId: () => randomUUID(),
    childLoggerFactory: lazyChildLogger,
    logController: new LogController({ disableRequestLogging: true }),
    return503OnClosing: true,
    clientErrorHandler: answerClientError,
    http: { maxHeaderSize: config.server.maxHeaderSize },
  });
  const store = config.session.store === 'cookie' ? undefined : createStore(config, app.log);
  const services = createServices(config, {
    identities: await loadIdentities(config, undiciTlsFetch),
    store: store && instrumentStore(store, metrics),
    // Shared counters use the session store's Redis connection (the configuration guarantees there is one).
    counters: config.rateLimit.store === 'redis' ? (store as RedisStore) : new MemoryCounters(),
    metrics,
    tracing,
  });
  const { sessions } = services;
  const onError = answerError({
    loginPath: `${config.basePath}/auth/login`,
    homePath: `${config.pathPrefix}/`,
    onAnswered: (request, code) => metrics.countError(request, code),
    onSessionExpired: (reply) => sessions.clearCookie(reply.request, reply),
  });

  await app.register(fastifyCookie);
  // While shutting down, every response closes its connection, so keep-alive clients cannot hold
  // the process open after their last in-flight request (proxied answers, which bypass onSend,
  // look at the same flag).
  const { lifecycle } = services;
  // Callback-style hooks on the hot path: they run for every request, and need no promise.
  app.addHook('onSend', (_request, reply, payload, done) => {
    if (lifecycle.closing) reply.header('connection', 'close');
    done(null, payload);
  });
  if (tracing) {
    app.addHook('onRequest', (request, _reply, done) => {
      tracing.startRequest(request);
      done();
    });
    if (config.app === MAIN_APP) app.addHook('onClose', () => tracing.close());
  }
  app.addHook('onResponse', (request, reply, done) => {
    metrics.observeRequest(request, reply);
    tracing?.endRequest(request, reply);
    request.log.info({ req: request, res: reply, ms: Math.round(reply.elapsedTime) }, 'request completed');
    done();
  });
  app.setErrorHandler(onError);
  securityHooks(app, services);
  await app.register(async (scope) => authRoutes(fastifyRouter(scope), services));
  await app.register(async (scope) => sessionEventsRoute(fastifyRouter(scope), services));
  await app.register(async (scope) => backchannelRoute(fastifyRouter(scope), services));
  const connect = undiciTransports(config);
  const upstreams = new Map(
    Object.entries(config.upstreams).map(([name, upstream]) => [
      name,
      new NamedUpstream(name, upstream, services.tokens, tracing, connect),
    ]),
  );
  await app.register(async (scope) => extensionEndpoints(fastifyRouter(scope), services, extensions, upstreams));
  const routes = config.routes.map((route) => new ProxiedRoute(route, config, connect));
  await app.register(async (scope) => proxyRoutes(fastifyRouter(scope), services, routes));
  websocketProxy(app, services, routes);
  app.addHook('onClose', async () => {
    await Promise.all([...routes.map((r) => r.upstream), ...upstreams.values()].map((u) => u.close()));
  });
  await spaRoutes(app, config);
  app.setNotFoundHandler(async (request, reply) => {
    if (config.static.root && isDeepLink(request, config.basePath)) return sendIndex(reply, config);
    throw new GatehouseError('not_found');
  });

  // Warm the provider metadata; failure is not fatal (readyz reports it, sign-in answers 503).
  for (const oidc of services.providers.all) {
    oidc.configuration().catch((error: unknown) => {
      app.log.warn(
        { detail: toGatehouseError(error).detail, err: toGatehouseError(error).cause, provider: oidc.name },
        'identity provider discovery failed; will retry',
      );
    });
  }
  return { app, services, store, routes, onError };
}

function hostForUrl(address: AddressInfo): string {
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return `${host}:${address.port}`;
}
