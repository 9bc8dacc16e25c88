/**
 * One configured route, as both the HTTP proxy and the WebSocket proxy use it: which paths it
 * serves, how a browser request becomes an upstream request (path checks, header policy), and the
 * rate limits it counts against.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { GatehouseConfig, RouteConfig } from '../config/load.js';
import type { RateLimiter } from '../security/rate-limit.js';
import type { ActiveSession } from '../session/session-manager.js';
import { upstreamRequestHeaders } from './headers.js';
import { checkedRestPath } from './path.js';
import type { ForwardRequest, TransportFactory } from './transport.js';
import { Upstream } from './upstream.js';

export class ProxiedRoute {
  /** basePath + route.path, e.g. "/api/orders". */
  readonly prefix: string;
  readonly upstream: Upstream;
  readonly #publicHost: string;
  readonly #publicProto: string;
  readonly #sessionScope: string;
  readonly #sessionLimit: GatehouseConfig['rateLimit']['perSession'];

  constructor(
    readonly route: RouteConfig,
    config: GatehouseConfig,
    connect: TransportFactory,
  ) {
    this.prefix = `${config.basePath}${route.path}`;
    const transport = connect({
      url: route.upstream,
      timeoutMs: route.timeout,
      maxBodySize: route.maxBodySize,
      settings: route,
      path: `routes[${config.routes.indexOf(route)}]`,
    });
    this.upstream = new Upstream(route.upstream, transport);
    const publicUrl = new URL(config.publicUrl);
    this.#publicHost = publicUrl.host;
    this.#publicProto = publicUrl.protocol.slice(0, -1);
    // A route with its own session limit counts separately from the global one.
    this.#sessionScope = route.rateLimit?.perSession ? `session${route.path}` : 'session';
    this.#sessionLimit = route.rateLimit?.perSession ?? config.rateLimit.perSession;
  }

  /** Whether a raw request path (no query) belongs to this route. */
  serves(rawPath: string): boolean {
    return rawPath === this.prefix || rawPath.startsWith(`${this.prefix}/`);
  }

  /** Counts the request against the route's session and IP limits (429 past them). */
  async countAgainstLimits(limits: RateLimiter, session: ActiveSession | undefined, ip: string): Promise<void> {
    if (session) await limits.check(this.#sessionScope, session.key, this.#sessionLimit);
    if (this.route.rateLimit?.perIp) await limits.check(`ip${this.route.path}`, ip, this.route.rateLimit.perIp);
  }

  /** The upstream request for a browser request: checked path, query kept, header policy applied (the upstream attaches the credential). */
  forward(
    method: string,
    url: string,
    headers: IncomingHttpHeaders,
    context: { clientIp: string; requestId: string },
  ): ForwardRequest {
    const queryAt = url.indexOf('?');
    const rawPath = queryAt === -1 ? url : url.slice(0, queryAt);
    const path = `${this.upstream.basePath}${checkedRestPath(rawPath.slice(this.prefix.length))}` || '/';
    return {
      method,
      path: queryAt === -1 ? path : path + url.slice(queryAt),
      headers: upstreamRequestHeaders(headers, {
        clientIp: context.clientIp,
        publicHost: this.#publicHost,
        publicProto: this.#publicProto,
        requestId: context.requestId,
      }),
    };
  }
}
