/**
 * The gateway listener: an API gateway in front of the APIs (nginx auth_request, Caddy
 * forward_auth, Traefik forwardAuth, Envoy ext_authz) asks here before it proxies a browser's call,
 * and Gatehouse decides exactly as for a call it proxies itself (proxy/admission.ts: session,
 * anti-forgery header, Origin, rate limits, `authorize` rules, the token renewed exactly once).
 * Yes is a 200 whose headers the gateway adds to the upstream request (Authorization, a DPoP proof
 * where tokens are bound, X-Request-Id); no is the JSON error the SPA would get, with its code also
 * in X-Gatehouse-Error for gateways that drop error bodies.
 *
 * These answers carry tokens: the listener is its own (never the public one), and with
 * gateway.secret every call must carry it in X-Gatehouse-Gateway. A 200 says how long the gateway
 * may reuse it (Cache-Control: max-age): so that it stops within gateway.cacheTtl, and before the
 * token's refresh time, never for a DPoP proof (one per call).
 */
import { randomUUID, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { GatehouseError, toGatehouseError } from '../errors.js';
import { admit } from '../proxy/admission.js';
import type { ProxiedRoute } from '../proxy/proxied-route.js';
import type { Services } from '../services.js';
import type { Credential } from '../tokens/token-manager.js';

/** The headers the gateway passes on to the upstream. */
const PASSED_ON = ['authorization', 'dpop', 'x-request-id'] as const;

export async function gatewayRoutes(
  app: FastifyInstance,
  services: Services,
  routes: readonly ProxiedRoute[],
): Promise<void> {
  const { config, tokens } = services;
  const secret = config.gateway.secret === undefined ? undefined : Buffer.from(config.gateway.secret);
  const cacheTtlMs = config.gateway.cacheTtl;

  const decide = async (request: FastifyRequest, reply: FastifyReply) => {
    reply.header('cache-control', 'no-store');
    if (secret && !sameSecret(request.headers['x-gatehouse-gateway'], secret)) {
      throw new GatehouseError('gateway_unauthorized', { detail: 'forward-auth call without the gateway secret' });
    }
    const { method, url, headers } = described(request);
    const proxied = routes.find((r) => r.serves(url.split('?', 1)[0]!));
    if (!proxied) throw new GatehouseError('not_found', { detail: `no route for ${url.split('?', 1)[0]}` });
    const websocket = String(headers.upgrade).toLowerCase() === 'websocket';
    if (!proxied.route.methods.includes(method as never) || (websocket && !proxied.route.websocket)) {
      reply.header('allow', proxied.route.methods.join(', '));
      throw new GatehouseError('method_not_allowed', { detail: `${method}${websocket ? ' (websocket)' : ''}` });
    }
    const candidate = { method, headers, cookies: request.cookies, ip: request.ip, websocket };
    const { credential } = await admit(services, proxied, candidate, reply);
    // The upstream request as the gateway will send it: its path checked, its DPoP proof made for it.
    const forward = proxied.forward(method, url, {}, { clientIp: request.ip, requestId: randomUUID() });
    await proxied.upstream.authorize(forward, credential);
    for (const name of PASSED_ON) {
      const value = forward.headers[name];
      if (value !== undefined) reply.header(name, value);
    }
    const ttl = reuseSeconds(credential, cacheTtlMs, (token) => tokens.freshUntil(token));
    reply.header('cache-control', ttl > 0 ? `max-age=${ttl}` : 'no-store');
    return reply.code(200).send();
  };

  // Every path and method is a question about the request the gateway describes.
  app.all('/*', async (request, reply) => {
    try {
      return await decide(request, reply);
    } catch (error) {
      const refusal = toGatehouseError(error);
      reply.headers({ 'x-gatehouse-error': refusal.code, 'x-gatehouse-message': refusal.message });
      // What else the JSON says (a step-up's acr_values and max_age), as members ready to splice
      // into the body a gateway rebuilds: ',"acr_values":"urn:mfa","max_age":300'.
      if (refusal.body) reply.header('x-gatehouse-details', `,${JSON.stringify(refusal.body).slice(1, -1)}`);
      throw error;
    }
  });
}

/**
 * The browser's request as the gateway describes it: nginx sends X-Original-Method and
 * X-Original-URI (set in its configuration), Caddy and Traefik X-Forwarded-Method and
 * X-Forwarded-Uri, and Envoy asks with the browser's own method and path. Headers a gateway cannot
 * pass as they are come as X-Original-Upgrade (the handshake's, hop-by-hop) and X-Original-Length
 * (nginx asks without the body).
 */
function described(request: FastifyRequest): { method: string; url: string; headers: IncomingHttpHeaders } {
  const header = (name: string) => {
    const value = request.headers[name];
    return typeof value === 'string' && value !== '' ? value : undefined;
  };
  const url = header('x-original-uri') ?? header('x-forwarded-uri') ?? request.url;
  const method = (header('x-original-method') ?? header('x-forwarded-method') ?? request.method).toUpperCase();
  // An origin-form target, as a browser sends it; anything else is not a request this gateway proxies.
  if (!url.startsWith('/') || url.startsWith('//')) {
    throw new GatehouseError('invalid_request', { detail: 'the described request target is not a path' });
  }
  const headers: IncomingHttpHeaders = { ...request.headers };
  const upgrade = header('x-original-upgrade');
  if (upgrade) headers.upgrade = upgrade;
  const length = header('x-original-length');
  if (length) headers['content-length'] = length;
  return { method, url, headers };
}

/**
 * Seconds a gateway may reuse a yes: bounded by the setting and by when the token must be renewed.
 * Caches count ages in whole seconds and may serve an answer up to a second past its max-age
 * (nginx does), so the answer gives one second less than the bound it must keep.
 */
function reuseSeconds(
  credential: Credential | undefined,
  cacheTtlMs: number,
  freshUntil: (token: Credential['token']) => number,
): number {
  if (credential?.dpop) return 0; // a proof is good for one call
  const now = Date.now();
  const until = Math.min(now + cacheTtlMs, credential ? freshUntil(credential.token) : Infinity);
  return Math.max(0, Math.floor((until - now) / 1000) - 1);
}

function sameSecret(given: string | string[] | undefined, expected: Buffer): boolean {
  if (typeof given !== 'string') return false;
  const value = Buffer.from(given);
  return value.length === expected.length && timingSafeEqual(value, expected);
}
