/**
 * The configured API routes: basePath + route.path (and everything below it) streams to the
 * route's upstream after the session and anti-forgery checks, with the right token attached.
 * An upstream 401 gets one token refresh and, when the request has no body to replay, one retry.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest, HTTPMethods } from 'fastify';
import type { RouteConfig } from '../config/load.js';
import { GatehouseError } from '../errors.js';
import type { Services } from '../services.js';
import type { Credential } from '../tokens/token-manager.js';
import { upstreamRequestHeaders } from './headers.js';
import { checkedRestPath } from './path.js';
import { Upstream, hasBody } from './upstream.js';

/** Every method a route could be asked for; the ones a route does not allow answer 405. */
const ALL_METHODS: HTTPMethods[] = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'TRACE'];

export async function proxyRoutes(app: FastifyInstance, services: Services): Promise<void> {
  const { config, sessions, tokens, checks, limits } = services;
  // Bodies stream through untouched: no parser runs in this plugin's context.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', (_request, _payload, done) => done(null));

  const publicUrl = new URL(config.publicUrl);
  const publicProto = publicUrl.protocol.slice(0, -1);
  const upstreams: Upstream[] = [];

  for (const route of config.routes) {
    const upstream = new Upstream(route.upstream, route.timeout, route.maxBodySize);
    upstreams.push(upstream);
    const prefix = `${config.basePath}${route.path}`;
    // A route with its own session limit counts separately from the global one.
    const sessionScope = route.rateLimit?.perSession ? `session${route.path}` : 'session';
    const sessionLimit = route.rateLimit?.perSession ?? config.rateLimit.perSession;
    const ipScope = `ip${route.path}`;

    const handler = async (request: FastifyRequest, reply: FastifyReply) => {
      const session = route.requireSession
        ? await sessions.require(request, reply)
        : await sessions.load(request, reply);
      const csrf = checks.apiProblem(request, { allowFormBodies: route.allowFormBodies });
      if (csrf) throw csrf;
      if (session) await limits.check(sessionScope, session.key, sessionLimit);
      if (route.rateLimit?.perIp) await limits.check(ipScope, request.ip, route.rateLimit.perIp);
      const length = request.headers['content-length'];
      if (length !== undefined && Number(length) > route.maxBodySize) {
        throw new GatehouseError('payload_too_large', { detail: `content-length ${length}` });
      }
      const url = request.raw.url!;
      const queryAt = url.indexOf('?');
      const rawPath = queryAt === -1 ? url : url.slice(0, queryAt);
      const path = `${upstream.basePath}${checkedRestPath(rawPath.slice(prefix.length))}` || '/';
      const forward = {
        method: request.method,
        path: queryAt === -1 ? path : path + url.slice(queryAt),
        headers: upstreamRequestHeaders(request.headers, {
          clientIp: request.ip,
          publicHost: publicUrl.host,
          publicProto,
          requestId: request.id,
        }),
      };

      const credential = await tokens.credentialFor(route, session);
      authorize(forward.headers, credential);
      const response = await upstream.request(request, reply, forward);
      if (response.statusCode !== 401 || !credential) return upstream.send(reply, response);

      // The upstream refused the token: refresh once, and retry once if the request can be replayed.
      await response.body.dump();
      const renewed = await tokens.renew(route, session, credential);
      if (renewed && !hasBody(request)) {
        authorize(forward.headers, renewed);
        const retried = await upstream.request(request, reply, forward);
        if (retried.statusCode !== 401) return upstream.send(reply, retried);
        await retried.body.dump();
      }
      throw new GatehouseError('upstream_unauthorized', {
        detail: renewed ? 'upstream refused a refreshed token' : 'upstream refused the token',
      });
    };

    const allowed: HTTPMethods[] = [...route.methods];
    const refused = ALL_METHODS.filter((m) => !allowed.includes(m));
    const refuse = methodNotAllowed(route);
    for (const url of [prefix, `${prefix}/*`]) {
      app.route({ method: allowed, url, handler, exposeHeadRoute: false });
      if (refused.length > 0) app.route({ method: refused, url, handler: refuse, exposeHeadRoute: false });
    }
  }

  app.addHook('onClose', async () => {
    await Promise.all(upstreams.map((u) => u.close()));
  });
}

function authorize(headers: Record<string, string | string[]>, credential: Credential | undefined): void {
  // token_type is case-insensitive (RFC 6749 §5.1); send the canonical scheme.
  if (credential) headers.authorization = `Bearer ${credential.token.accessToken}`;
}

function methodNotAllowed(route: RouteConfig) {
  const allow = route.methods.join(', ');
  return async (_request: FastifyRequest, reply: FastifyReply) => {
    reply.header('allow', allow);
    throw new GatehouseError('method_not_allowed');
  };
}
