/**
 * Gatehouse as a fetch handler: web-standard Request in, Response out, for the runtimes that hand
 * requests over that way (cloudflare/worker.ts, lambda/handler.ts). The same services, endpoints,
 * screening and failure answers as the Node server (server.ts), in the same order: screening
 * (security headers, request target, CDN origin check), the per-IP limit, CORS, then the
 * endpoint, the static files, or 404.
 */
import type { GatehouseConfig } from '../config/load.js';
import { GatehouseError, toGatehouseError } from '../errors.js';
import type { Log } from '../http/exchange.js';
import { extensionEndpoints } from '../extensions/endpoints.js';
import type { LoadedExtension } from '../extensions/load.js';
import { NamedUpstream } from '../extensions/upstream-client.js';
import { answerFailure, logFailure } from '../http/failure.js';
import { authRoutes } from '../oidc/auth-routes.js';
import { sessionEventsRoute } from '../session/session-events.js';
import { backchannelRoute } from '../oidc/backchannel-route.js';
import { ProxiedRoute } from '../proxy/proxied-route.js';
import { proxyRoutes } from '../proxy/proxy-routes.js';
import type { TransportFactory } from '../proxy/transport.js';
import { screening, type Screening } from '../security/hooks.js';
import { createServices, type RuntimeParts, type Services } from '../services.js';
import { IMMUTABLE, isDeepLink, REVALIDATE } from '../static/deep-link.js';
import { WebReply, WebRequest } from './exchange.js';
import { fetchTransports } from './fetch-transport.js';
import { WebRouter } from './router.js';

/** Static files, as Workers static assets serve them (env.ASSETS). */
export interface StaticFiles {
  fetch(request: Request | string): Promise<Response>;
}

export interface FetchGatehouseOptions {
  parts: RuntimeParts;
  log: Log;
  /** The SPA build, where the runtime serves one. */
  assets?: StaticFiles;
  /** Extensions, loaded and checked (extensions/load.ts). */
  extensions?: readonly LoadedExtension[];
  /** How upstreams are reached; default: the runtime's fetch(). */
  transports?: TransportFactory;
}

export class FetchGatehouse {
  readonly services: Services;
  readonly #router: WebRouter;
  readonly #screening: Screening;
  readonly #routes: ProxiedRoute[];
  readonly #upstreams: NamedUpstream[];
  readonly #log: Log;
  readonly #assets: StaticFiles | undefined;

  constructor(
    readonly config: GatehouseConfig,
    options: FetchGatehouseOptions,
  ) {
    this.services = createServices(config, options.parts);
    this.#log = options.log;
    this.#assets = options.assets;
    this.#screening = screening(this.services);
    this.#router = new WebRouter(config.server.bodyLimit);
    authRoutes(this.#router, this.services);
    sessionEventsRoute(this.#router, this.services);
    backchannelRoute(this.#router, this.services);
    const transports = options.transports ?? fetchTransports();
    this.#upstreams = Object.entries(config.upstreams).map(
      ([name, upstream]) => new NamedUpstream(name, upstream, this.services.tokens, undefined, transports),
    );
    const byName = new Map(this.#upstreams.map((upstream) => [upstream.name, upstream]));
    extensionEndpoints(this.#router, this.services, options.extensions ?? [], byName);
    this.#routes = config.routes.map((route) => new ProxiedRoute(route, config, transports));
    proxyRoutes(this.#router, this.services, this.#routes);
  }

  /**
   * Answers one request; `ip` is the client's address as the platform reports it, `target` the
   * request target as sent, where the platform passes it on (Lambda's rawPath).
   */
  async fetch(raw: Request, ip: string, target?: string): Promise<Response> {
    const request = new WebRequest(raw, ip, this.#log, target);
    const reply = new WebReply(request);
    const { screen, limit, cors } = this.#screening;
    try {
      const problem = screen(request, reply);
      if (problem) throw problem;
      await limit(request);
      if (cors(request, reply)) return reply.toResponse();
      if (await this.#router.handle(request, reply)) return reply.toResponse();
      return await this.#notFound(request, reply);
    } catch (error) {
      if (reply.sent) {
        request.log.error({ err: error }, 'failed after the answer began');
        return reply.toResponse();
      }
      const failure = toGatehouseError(error);
      logFailure(request.log, failure);
      if (failure.code === 'session_expired') this.services.sessions.clearCookie(request, reply);
      answerFailure(failure, request, reply, {
        htmlErrors: reply.htmlErrors,
        loginPath: `${this.config.basePath}/auth/login`,
      });
      return reply.toResponse();
    }
  }

  /** Static files with the page headers screening set, deep links answered with index.html; else 404. */
  async #notFound(request: WebRequest, reply: WebReply): Promise<Response> {
    const assets = this.#assets;
    if (!assets || request.url === this.config.basePath || request.url.startsWith(`${this.config.basePath}/`)) {
      throw new GatehouseError('not_found');
    }
    if (request.method !== 'GET' && request.method !== 'HEAD') throw new GatehouseError('not_found');
    const path = request.url.split('?', 1)[0]!;
    // Dotfiles (.env, .git/...) are never part of the app, even when uploaded with it: missing, as on Node.
    const hidden = path.split('/').some((segment) => segment.startsWith('.'));
    // The browser's headers go along (If-None-Match: a revalidated page is a 304, deep links included).
    const asset = (url: string) =>
      assets.fetch(new Request(url, { method: request.method, headers: request.raw.headers }));
    let file = hidden ? undefined : await asset(request.raw.url);
    let fallback = false;
    if ((!file || file.status === 404) && isDeepLink(request, this.config.basePath)) {
      file = await asset(new URL(`/${this.config.static.index}`, request.raw.url).href);
      fallback = true;
    }
    if (!file || file.status === 404) throw new GatehouseError('not_found');
    const headers = new Headers(file.headers);
    for (const [name, value] of reply.toResponse().headers) headers.set(name, value);
    // Only a hashed file itself is immutable: index.html answering a deep link under its folder is not.
    const hashed =
      file.status === 200 && !fallback && this.config.static.immutable.some((prefix) => path.startsWith(prefix));
    headers.set('cache-control', hashed ? IMMUTABLE : REVALIDATE);
    headers.set('x-content-type-options', 'nosniff');
    return new Response(file.body, { status: file.status, headers });
  }

  async close(): Promise<void> {
    await Promise.all([...this.#routes.map((route) => route.upstream), ...this.#upstreams].map((u) => u.close()));
    await this.services.sessions.close();
    await this.services.providers.close();
  }
}
