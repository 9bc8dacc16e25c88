/**
 * Serves the extensions' endpoints under basePath with the same guarantees as proxied routes:
 * session, anti-forgery header and origin checks, the per-session rate limit, and the endpoint's
 * claim rules and object-level check, all before the handler runs; then the handler's result as
 * JSON (never cached), shaped by the view the client asked for. Declared on the neutral router, so
 * the Node server and the fetch runtimes serve them alike.
 */
import type { ServerResponse } from 'node:http';
import { GatehouseError } from '../errors.js';
import { rawQuery, type HttpReply, type HttpRequest } from '../http/exchange.js';
import { routeOnly, type Handler, type Router } from '../http/router.js';
import type { Services } from '../services.js';
import type { ActiveSession } from '../session/session-manager.js';
import { gather } from './gather.js';
import type { LoadedEndpoint, LoadedExtension } from './load.js';
import type { EndpointContext } from './types.js';
import type { NamedUpstream } from './upstream-client.js';
import { applyView, type View } from './views.js';

/** The header a client may send to pick a view for every endpoint that has one by that name. */
const VIEW_HEADER = 'x-client-type';

type Query = Record<string, string | string[] | undefined>;

export function extensionEndpoints(
  router: Router,
  services: Services,
  extensions: readonly LoadedExtension[],
  upstreams: ReadonlyMap<string, NamedUpstream>,
): void {
  const byPath = new Map<string, { methods: string[]; handlers: Map<string, Handler> }>();
  for (const extension of extensions) {
    for (const endpoint of extension.endpoints) {
      const path = `${services.config.basePath}${endpoint.path}`;
      const entry = byPath.get(path) ?? { methods: [] as string[], handlers: new Map<string, Handler>() };
      entry.methods.push(endpoint.method);
      entry.handlers.set(endpoint.method, endpointHandler(services, extension, endpoint, upstreams));
      byPath.set(path, entry);
    }
  }
  // One declaration per path, so the other methods there answer 405 with Allow, as on proxied routes.
  for (const [path, { methods, handlers }] of byPath) {
    routeOnly(router, methods, path, (request, reply) => handlers.get(request.method)!(request, reply), {
      body: { kind: 'json' },
    });
  }
}

function endpointHandler(
  services: Services,
  extension: LoadedExtension,
  endpoint: LoadedEndpoint,
  upstreams: ReadonlyMap<string, NamedUpstream>,
): Handler {
  const { sessions, checks, limits, authorizer, config } = services;
  const declared = extension.upstreams.map((name) => upstreams.get(name)!);
  return async (request, reply) => {
    const session =
      endpoint.session === 'optional' ? await sessions.load(request, reply) : await sessions.require(request, reply);
    const refused = checks.apiProblem(request);
    if (refused) throw refused;
    if (session) await limits.check('session', session.key, config.rateLimit.perSession);
    const user = endpoint.authorize
      ? authorizer.check(endpoint.authorize, session)
      : session && authorizer.user(session);
    const query = queryOf(request);
    const view = chosenView(endpoint, request, reply, query);

    const signal = departure(request, reply);
    const context = endpointContext(request, reply, query, session, user, signal, declared);
    // Only a real `true` lets the request through: a check that forgot to return denies.
    if (endpoint.allow && (await endpoint.allow(context)) !== true) {
      throw new GatehouseError('forbidden', { detail: `${extension.name}: allow() refused` });
    }
    const result = await endpoint.handler(context);
    if (reply.sent) return reply;
    // Composed from the user's data: never for shared caches.
    reply.header('cache-control', 'no-store');
    if (result === undefined) {
      reply.code(reply.statusCode === 200 ? 204 : reply.statusCode);
      reply.send();
      return reply;
    }
    reply.type('application/json; charset=utf-8');
    reply.send(JSON.stringify(view ? applyView(view, result) : result));
    return reply;
  };
}

/**
 * Aborted when the browser goes away, so the upstream calls still in flight are cancelled. On Node
 * the socket's close says so; on the fetch runtimes the Request's signal, where the platform has one.
 */
function departure(request: HttpRequest, reply: HttpReply): AbortSignal {
  const socket = (reply as { raw?: ServerResponse }).raw;
  if (!socket) return (request as { raw?: Request }).raw?.signal ?? new AbortController().signal;
  const abort = new AbortController();
  socket.once('close', () => {
    if (!socket.writableFinished) abort.abort();
  });
  return abort.signal;
}

/** The query string as the handler sees it: a repeated name gives a list. The same parse on every runtime. */
function queryOf(request: HttpRequest): Query {
  const query: Query = {};
  for (const [name, value] of new URLSearchParams(rawQuery(request))) {
    const seen = query[name];
    query[name] = seen === undefined ? value : [...(Array.isArray(seen) ? seen : [seen]), value];
  }
  return query;
}

/** The view asked for: ?view=<name> (unknown: 400), else a known X-Client-Type, else the full result. */
function chosenView(endpoint: LoadedEndpoint, request: HttpRequest, reply: HttpReply, query: Query): View | undefined {
  const views = endpoint.views;
  if (!views) return undefined;
  reply.header('vary', VIEW_HEADER);
  const asked = query.view;
  if (asked !== undefined) {
    if (typeof asked === 'string' && Object.hasOwn(views, asked)) return views[asked];
    throw new GatehouseError('invalid_request', {
      message: `Unknown view. Views of this endpoint: ${Object.keys(views).join(', ')}.`,
      detail: `view ${String(asked)}`,
    });
  }
  // A header a client sends everywhere: endpoints without that view answer in full.
  const hinted = request.headers[VIEW_HEADER];
  return typeof hinted === 'string' && Object.hasOwn(views, hinted) ? views[hinted] : undefined;
}

function endpointContext(
  request: HttpRequest,
  reply: HttpReply,
  query: Query,
  session: ActiveSession | undefined,
  user: EndpointContext['user'] | undefined,
  signal: AbortSignal,
  declared: readonly NamedUpstream[],
): EndpointContext<string, true> {
  const scope = { request, session, signal };
  return {
    request,
    reply,
    params: (request.params ?? {}) as Record<string, string>,
    query,
    body: request.body,
    user,
    upstreams: Object.fromEntries(declared.map((upstream) => [upstream.name, upstream.clientFor(scope)])),
    signal,
    log: request.log,
    gather: ((parts, options) =>
      gather(parts, options?.optional ?? [], signal, request.log)) as EndpointContext['gather'],
    forbidden(message?: string): never {
      throw new GatehouseError('forbidden', { message, detail: 'refused by the endpoint' });
    },
  };
}
