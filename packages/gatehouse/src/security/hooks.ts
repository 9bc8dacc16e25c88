/**
 * What every public request passes, in order: security headers (so even refusals carry them) and
 * the request-target form, CDN origin verification, the per-IP rate limit, and CORS (preflights
 * answered only for configured origins; same-origin needs none). One screening for every runtime;
 * on Node it runs as a Fastify hook.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import type { FastifyInstance } from 'fastify';
import { isLoopback, type GatehouseConfig } from '../config/load.js';
import { GatehouseError } from '../errors.js';
import type { HttpReply, HttpRequest } from '../http/exchange.js';
import type { Services } from '../services.js';

const ONE_YEAR = 31_536_000;

/** What every public request passes before routing, on every runtime. */
export interface Screening {
  /** Security headers (so even refusals carry them), the request-target form, CDN origin verification. Synchronous. */
  screen(request: HttpRequest, reply: HttpReply): GatehouseError | undefined;
  /** The per-IP rate limit, when enabled; undefined when there is nothing to wait for. */
  limit(request: HttpRequest): Promise<void> | undefined;
  /** CORS for listed origins: preflights answered here (true), credentials allowed on the rest. Throws for a foreign preflight. */
  cors(request: HttpRequest, reply: HttpReply): boolean;
}

export function screening(services: Services): Screening {
  const { config, checks, limits } = services;
  const apiPrefix = `${config.basePath}/`;
  const isApi = (url: string) => url.startsWith(apiPrefix) || url === config.basePath;

  const common: Record<string, string> = {
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'no-referrer',
    'x-frame-options': 'DENY',
  };
  // Not for localhost: a browser that applies it there (WebKit does; Chromium and Firefox ignore it)
  // would then force https on every local port, breaking whatever else runs on plain http.
  const local = isLoopback(new URL(config.publicOrigin).hostname);
  if (config.security.headers.hsts && config.publicOrigin.startsWith('https:') && !local) {
    common['strict-transport-security'] = `max-age=${ONE_YEAR}; includeSubDomains`;
  }
  const apiHeaders = {
    ...common,
    'content-security-policy': "default-src 'none'; frame-ancestors 'none'",
    'cross-origin-resource-policy': 'same-origin',
  };
  const pageHeaders = {
    ...common,
    'content-security-policy': config.security.headers.contentSecurityPolicy,
    'cross-origin-opener-policy': 'same-origin',
  };
  const verifyOrigin = originVerifier(config);

  return {
    screen(request, reply) {
      reply.headers(isApi(request.url) ? apiHeaders : pageHeaders);
      // Browsers send origin-form targets ("/path"); an absolute-form one ("http://host/path") is
      // meant for a forward proxy, which Gatehouse is not: refuse it rather than guess.
      if (request.url.charCodeAt(0) !== 47 /* "/" */) {
        return new GatehouseError('invalid_request', { detail: 'request target is not a path' });
      }
      return verifyOrigin?.(request.headers);
    },

    limit(request) {
      return config.rateLimit.enabled ? limits.check('ip', request.ip, config.rateLimit.perIp) : undefined;
    },

    cors(request, reply) {
      if (!isApi(request.url)) return false;
      const origin = request.headers.origin;
      if (request.method === 'OPTIONS' && request.headers['access-control-request-method'] !== undefined) {
        if (!checks.isAllowedOrigin(origin)) {
          throw new GatehouseError('origin_not_allowed', { detail: `preflight from ${origin}` });
        }
        reply.code(204);
        reply.headers({
          'access-control-allow-origin': origin,
          'access-control-allow-credentials': 'true',
          'access-control-allow-methods': 'GET, HEAD, POST, PUT, PATCH, DELETE',
          // x-client-type picks an extension endpoint's view (docs/extending.md).
          'access-control-allow-headers': `${checks.csrfHeader}, content-type, x-client-type`,
          'access-control-max-age': '600',
          vary: 'Origin',
        });
        reply.send();
        return true;
      }
      if (checks.isAllowedOrigin(origin)) {
        reply.headers({
          'access-control-allow-origin': origin,
          'access-control-allow-credentials': 'true',
          vary: 'Origin',
        });
      }
      return false;
    },
  };
}

/** The screening as one Fastify hook: every request passes it, and a promise per step would cost more than the checks. */
export function securityHooks(app: FastifyInstance, services: Services): void {
  const { screen, limit, cors } = screening(services);
  app.addHook('onRequest', (request, reply, done) => {
    const finish = () => {
      try {
        if (!cors(request, reply)) done();
      } catch (error) {
        done(error as GatehouseError);
      }
    };
    const problem = screen(request, reply);
    if (problem) return done(problem);
    const limiting = limit(request);
    if (!limiting) return finish();
    limiting.then(finish, done);
  });
}

/**
 * The CDN origin check (security.originVerify), or undefined when not configured: the secret
 * header must carry one of the configured values (two during a rotation), compared in constant time.
 */
export function originVerifier(
  config: GatehouseConfig,
): ((headers: IncomingHttpHeaders) => GatehouseError | undefined) | undefined {
  const verify = config.security.originVerify;
  if (!verify) return undefined;
  const header = verify.header.toLowerCase();
  const expected = verify.secrets.map(digest);
  return (headers) => {
    const given = headers[header];
    const ok = typeof given === 'string' && expected.some((secret) => timingSafeEqual(secret, digest(given)));
    return ok ? undefined : new GatehouseError('origin_verification_failed', { detail: `missing or wrong ${header}` });
  };
}

/** Equal-length values for a constant-time comparison of secrets of any length. */
function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}
