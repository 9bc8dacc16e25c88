/**
 * How endpoints are declared, whatever serves them: server.ts hands them to Fastify
 * (node/fastify-router.ts), the fetch runtimes to web/router.ts. A path is exact, or ends in "/*"
 * for the path and everything below it.
 */
import { GatehouseError } from '../errors.js';
import type { HttpReply, HttpRequest } from './exchange.js';

/** Resolves to the JSON body to send, or to the reply once it is sent. */
export type Handler = (request: HttpRequest, reply: HttpReply) => Promise<unknown>;

export interface EndpointOptions {
  /** Errors are answered with an HTML page when the browser navigated here (sign-in, callback). */
  htmlErrors?: boolean;
  /**
   * The body the endpoint reads: `form` as text (application/x-www-form-urlencoded only, at most
   * `limit` bytes), `form-params` the same parsed into URLSearchParams, `json` parsed (at most
   * server.bodyLimit), `stream` left to stream (the proxy). Without it, a body is not read.
   */
  body?:
    { kind: 'form'; limit: number } | { kind: 'form-params'; limit: number } | { kind: 'json' } | { kind: 'stream' };
}

export interface Router {
  route(methods: string | readonly string[], path: string, handler: Handler, options?: EndpointOptions): void;
}

/** Every method a path could be asked for; the ones an endpoint does not serve answer 405. */
export const ALL_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'TRACE'] as const;

/** The handler for the methods a path does not serve: 405 with Allow. */
export function methodNotAllowed(methods: readonly string[]): Handler {
  const allow = methods.join(', ');
  return async (_request, reply) => {
    reply.header('allow', allow);
    throw new GatehouseError('method_not_allowed');
  };
}

/** Declares `handler` for `methods` on `path`, and 405 for every other method there. */
export function routeOnly(
  router: Router,
  methods: readonly string[],
  path: string,
  handler: Handler,
  options?: EndpointOptions,
): void {
  router.route(methods, path, handler, options);
  const others = ALL_METHODS.filter((m) => !methods.includes(m));
  if (others.length > 0) router.route(others, path, methodNotAllowed(methods));
}
