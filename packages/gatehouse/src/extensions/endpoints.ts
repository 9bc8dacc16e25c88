/**
 * Serves the extensions' endpoints under basePath with the same guarantees as proxied routes:
 * session, anti-forgery header and origin checks, the per-session rate limit, and the endpoint's
 * claim rules and object-level check, all before the handler runs; then the handler's result as
 * JSON (never cached), shaped by the view the client asked for.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { GatehouseError } from '../errors.js';
import { ALL_METHODS, methodNotAllowed } from '../http/router.js';
import type { Services } from '../services.js';
import type { ActiveSession } from '../session/session-manager.js';
import { gather } from './gather.js';
import type { LoadedEndpoint, LoadedExtension } from './load.js';
import type { EndpointContext } from './types.js';
import type { NamedUpstream } from './upstream-client.js';
import { applyView, type View } from './views.js';

/** The header a client may send to pick a view for every endpoint that has one by that name. */
const VIEW_HEADER = 'x-client-type';

export async function extensionEndpoints(
  app: FastifyInstance,
  services: Services,
  extensions: readonly LoadedExtension[],
  upstreams: ReadonlyMap<string, NamedUpstream>,
): Promise<void> {
  const byPath = new Map<string, string[]>();
  for (const extension of extensions) {
    for (const endpoint of extension.endpoints) {
      app.route({
        method: endpoint.method,
        url: endpoint.path,
        exposeHeadRoute: false,
        handler: endpointHandler(services, extension, endpoint, upstreams),
      });
      byPath.set(endpoint.path, [...(byPath.get(endpoint.path) ?? []), endpoint.method]);
    }
  }
  // Other methods on an endpoint's path: 405 with Allow, as on proxied routes.
  for (const [path, methods] of byPath) {
    const others = ALL_METHODS.filter((m) => !methods.includes(m));
    app.route({ method: others, url: path, exposeHeadRoute: false, handler: methodNotAllowed(methods) });
  }
}

function endpointHandler(
  services: Services,
  extension: LoadedExtension,
  endpoint: LoadedEndpoint,
  upstreams: ReadonlyMap<string, NamedUpstream>,
) {
  const { sessions, checks, limits, authorizer, config } = services;
  const declared = extension.upstreams.map((name) => upstreams.get(name)!);
  return async (request: FastifyRequest, reply: FastifyReply) => {
    const session =
      endpoint.session === 'optional' ? await sessions.load(request, reply) : await sessions.require(request, reply);
    const refused = checks.apiProblem(request);
    if (refused) throw refused;
    if (session) await limits.check('session', session.key, config.rateLimit.perSession);
    const user = endpoint.authorize
      ? authorizer.check(endpoint.authorize, session)
      : session && authorizer.user(session);
    const view = chosenView(endpoint, request, reply);

    // The browser leaving cancels the upstream calls still in flight.
    const abort = new AbortController();
    reply.raw.once('close', () => {
      if (!reply.raw.writableFinished) abort.abort();
    });
    const context = endpointContext(request, reply, session, user, abort.signal, declared);
    // Only a real `true` lets the request through: a check that forgot to return denies.
    if (endpoint.allow && (await endpoint.allow(context)) !== true) {
      throw new GatehouseError('forbidden', { detail: `${extension.name}: allow() refused` });
    }
    const result = await endpoint.handler(context);
    if (reply.sent) return reply;
    // Composed from the user's data: never for shared caches.
    reply.header('cache-control', 'no-store');
    if (result === undefined) return reply.code(reply.statusCode === 200 ? 204 : reply.statusCode).send();
    reply.type('application/json; charset=utf-8');
    return reply.send(JSON.stringify(view ? applyView(view, result) : result));
  };
}

/** The view asked for: ?view=<name> (unknown: 400), else a known X-Client-Type, else the full result. */
function chosenView(endpoint: LoadedEndpoint, request: FastifyRequest, reply: FastifyReply): View | undefined {
  const views = endpoint.views;
  if (!views) return undefined;
  reply.header('vary', VIEW_HEADER);
  const asked = (request.query as Record<string, unknown>).view;
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
  request: FastifyRequest,
  reply: FastifyReply,
  session: ActiveSession | undefined,
  user: EndpointContext['user'] | undefined,
  signal: AbortSignal,
  declared: readonly NamedUpstream[],
): EndpointContext<string, true> {
  const scope = { request, session, signal };
  return {
    request,
    reply,
    params: request.params as Record<string, string>,
    query: request.query as Record<string, string | string[] | undefined>,
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
