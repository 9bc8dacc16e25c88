/**
 * Assembles Gatehouse: the public Fastify app (auth endpoints, proxied routes, SPA) and the admin
 * listener (health), from one validated configuration.
 */
import { randomUUID } from 'node:crypto';
import { STATUS_CODES } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import fastifyCookie from '@fastify/cookie';
import Fastify, {
  LogController,
  type FastifyError,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
} from 'fastify';
import { isEffectiveConfig, parseConfig, type GatehouseConfig } from './config/load.js';
import type { GatehouseConfigInput } from './config/schema.js';
import { GatehouseError, toGatehouseError, type ErrorCode } from './errors.js';
import { authRoutes } from './oidc/auth-routes.js';
import { OidcClient } from './oidc/client.js';
import { LoginTransactions } from './oidc/login-transaction.js';
import { adminRoutes } from './ops/admin.js';
import { loggerOptions } from './ops/logger.js';
import { proxyRoutes } from './proxy/proxy-routes.js';
import { ERROR_PAGE_CSP, errorPage } from './security/error-page.js';
import type { Services } from './services.js';
import { MemoryStore } from './session/memory-store.js';
import { SessionManager } from './session/session-manager.js';
import { isDeepLink, sendIndex, spaRoutes } from './static/spa.js';

export interface Gatehouse {
  readonly config: GatehouseConfig;
  /** The public app. Add your own routes or hooks before calling listen(). */
  readonly app: FastifyInstance;
  /** The admin listener (/healthz, /readyz), when enabled. */
  readonly admin: FastifyInstance | undefined;
  readonly services: Services;
  /** Starts both listeners; resolves with their URLs. */
  listen(): Promise<{ url: string; adminUrl?: string }>;
  /** Stops accepting connections, lets in-flight requests finish, and releases everything. */
  close(): Promise<void>;
}

/**
 * Builds a Gatehouse from a configuration object (as written in a config file, or already loaded
 * with loadConfigFile). Invalid configuration throws a ConfigError naming every bad key.
 */
export async function createGatehouse(input: GatehouseConfigInput | GatehouseConfig): Promise<Gatehouse> {
  const config = isEffectiveConfig(input) ? input : parseConfig(input);
  const store = new MemoryStore({
    maxSessions: config.session.memory.maxSessions,
  });
  const services: Services = {
    config,
    oidc: new OidcClient(config.oidc),
    sessions: new SessionManager(config, store),
    transactions: new LoginTransactions({
      secrets: config.session.secrets,
      sessionCookieName: config.session.cookieName,
      ttlMs: config.oidc.loginTimeout,
    }),
  };

  const app = Fastify({
    logger: loggerOptions(config),
    // Fastify accepts a hop count at runtime; its types only list the other forms.
    trustProxy: config.server.trustProxy as boolean | string[],
    bodyLimit: config.server.bodyLimit,
    requestIdHeader: false,
    genReqId: () => randomUUID(),
    logController: new LogController({ disableRequestLogging: true }),
    return503OnClosing: true,
    clientErrorHandler: answerClientError,
  });
  await app.register(fastifyCookie);
  app.addHook('onResponse', async (request, reply) => {
    request.log.info({ req: request, res: reply, ms: Math.round(reply.elapsedTime) }, 'request completed');
  });
  app.setErrorHandler(answerError(config));
  await app.register(async (scope) => authRoutes(scope, services), {
    prefix: config.basePath,
  });
  await app.register(async (scope) => proxyRoutes(scope, services));
  await spaRoutes(app, config);
  app.setNotFoundHandler(async (request, reply) => {
    if (config.static.root && isDeepLink(request, config.basePath)) return sendIndex(reply, config);
    throw new GatehouseError('not_found');
  });

  const admin = config.admin.enabled
    ? Fastify({
        loggerInstance: app.log.child({ listener: 'admin' }),
        logController: new LogController({ disableRequestLogging: true }),
      })
    : undefined;
  if (admin) await admin.register(async (scope) => adminRoutes(scope, services));

  // Warm the provider metadata; failure is not fatal (readyz reports it, sign-in answers 503).
  services.oidc.configuration().catch((error: unknown) => {
    app.log.warn(
      { detail: toGatehouseError(error).detail, err: toGatehouseError(error).cause },
      'identity provider discovery failed; will retry',
    );
  });

  return {
    config,
    app,
    admin,
    services,
    async listen() {
      await app.listen({ host: config.server.host, port: config.server.port });
      const url = `http://${hostForUrl(app.server.address() as AddressInfo)}`;
      if (!admin) return { url };
      await admin.listen({ host: config.admin.host, port: config.admin.port });
      return {
        url,
        adminUrl: `http://${hostForUrl(admin.server.address() as AddressInfo)}`,
      };
    },
    async close() {
      await admin?.close();
      await app.close();
      await store.close();
    },
  };
}

function hostForUrl(address: AddressInfo): string {
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return `${host}:${address.port}`;
}

/** Fastify's own 4xx errors (parsing, limits) in Gatehouse's vocabulary. */
const FASTIFY_STATUS_CODES: Record<number, ErrorCode> = {
  404: 'not_found',
  405: 'method_not_allowed',
  413: 'payload_too_large',
  415: 'unsupported_media_type',
};

function answerError(config: GatehouseConfig) {
  const loginPath = `${config.basePath}/auth/login`;
  return (error: FastifyError | GatehouseError, request: FastifyRequest, reply: FastifyReply) => {
    const status = (error as FastifyError).statusCode;
    const failure =
      error instanceof GatehouseError || status === undefined || status >= 500
        ? toGatehouseError(error)
        : new GatehouseError(FASTIFY_STATUS_CODES[status] ?? 'invalid_request', {
            cause: error,
            detail: error.message,
          });
    if (failure.status >= 500) {
      request.log.error(
        {
          err: failure.cause ?? failure,
          code: failure.code,
          detail: failure.detail,
        },
        'request failed',
      );
    } else {
      request.log.info({ code: failure.code, detail: failure.detail }, 'request refused');
    }
    if (reply.sent || reply.raw.headersSent) return;
    reply.code(failure.status).header('cache-control', 'no-store');
    if (request.routeOptions.config.htmlErrors && (request.headers.accept ?? '').includes('text/html')) {
      return reply
        .header('content-security-policy', ERROR_PAGE_CSP)
        .type('text/html; charset=utf-8')
        .send(errorPage(failure, loginPath));
    }
    return reply.send(failure.toJSON());
  };
}

/** Malformed HTTP (bad framing, oversized headers) is refused before Fastify sees it; answer in our format. */
function answerClientError(error: NodeJS.ErrnoException, socket: Socket): void {
  if (!socket.writable) return void socket.destroy();
  const failure = new GatehouseError(
    error.code === 'HPE_HEADER_OVERFLOW' ? 'request_header_too_large' : 'invalid_request',
  );
  const body = JSON.stringify(failure.toJSON());
  socket.end(
    `HTTP/1.1 ${failure.status} ${STATUS_CODES[failure.status]}\r\nConnection: close\r\n` +
      `Content-Type: application/json\r\nCache-Control: no-store\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
}
