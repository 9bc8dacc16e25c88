/**
 * The configured API routes: basePath + route.path (and everything below it) streams to the
 * route's upstream after the session and anti-forgery checks, with the right token attached.
 * An upstream 401 gets one token refresh and, when the request has no body to replay, one retry;
 * a DPoP upstream's `use_dpop_nonce` 401 gets one retry with a proof carrying its nonce; a step-up
 * challenge (RFC 9470) goes to the browser as 401 step_up_required.
 */
import { GatehouseError } from '../errors.js';
import type { HttpReply, HttpRequest } from '../http/exchange.js';
import { routeOnly, type Router } from '../http/router.js';
import type { Services } from '../services.js';
import { admit } from './admission.js';
import { stepUpChallenge } from './step-up-challenge.js';
import type { ProxiedRoute } from './proxied-route.js';
import { hasBody, type Answer, type ForwardRequest } from './transport.js';

/** Which upstream answers are held back rather than relayed: a 401 to a token that can be renewed. */
const isUnauthorized = (status: number) => status === 401;
const never = () => false;

export function proxyRoutes(app: Router, services: Services, routes: readonly ProxiedRoute[]): void {
  const { tokens, tracing, lifecycle } = services;
  // While shutting down, every response closes its connection (see server.ts).
  const closing = () => lifecycle.closing;

  for (const proxied of routes) {
    const { route, upstream } = proxied;
    const target = new URL(route.upstream).host;
    /** One upstream call relayed to the browser unless held back (a 401 to retry), traced when tracing is on. */
    const call = async (
      request: HttpRequest,
      reply: HttpReply,
      forward: ForwardRequest,
      holdBack: (status: number) => boolean,
    ): Promise<Answer> => {
      const end = tracing?.upstreamCall(request, forward.headers, target);
      try {
        const answer = await upstream.transport.relay(request, reply, forward, { holdBack, closing });
        end?.(answer.status);
        return answer;
      } catch (error) {
        end?.(error as Error);
        throw error;
      }
    };

    const handler = async (request: HttpRequest, reply: HttpReply) => {
      const { session, credential } = await admit(services, proxied, request, reply);
      const forward = proxied.forward(request.method, request.url, request.headers, {
        clientIp: request.ip,
        requestId: request.id,
      });
      const signing = upstream.authorize(forward, credential);
      if (signing) await signing; // a DPoP proof; a bearer token needs no wait
      let answer = await call(request, reply, forward, credential ? isUnauthorized : never);
      // A DPoP upstream may hand out a new nonce with any answer, or demand one with a 401.
      const nonceDemanded = credential?.dpop !== undefined && upstream.tookNonce(answer);
      if (answer.status !== 401 || !credential) return reply;
      const replayable = !hasBody(request);
      if (nonceDemanded) {
        // The token is fine; the proof lacked the nonce. A body cannot be sent twice: the next call will carry it.
        if (!replayable)
          throw new GatehouseError('upstream_unauthorized', { detail: 'upstream demanded a DPoP nonce' });
        await upstream.authorize(forward, credential);
        answer = await call(request, reply, forward, isUnauthorized);
        if (answer.status !== 401) return reply;
      }

      // Not the token but the sign-in behind it is too weak or too old: a refresh would not help.
      const stepUp = stepUpChallenge(answer.headers);
      if (stepUp) throw stepUp;

      // The upstream refused the token: refresh once, and retry once if the request can be replayed.
      const renewed = await tokens.renew(route, session, credential);
      if (renewed && replayable) {
        await upstream.authorize(forward, renewed);
        if ((await call(request, reply, forward, isUnauthorized)).status !== 401) return reply;
      }
      throw new GatehouseError('upstream_unauthorized', {
        detail: renewed ? 'upstream refused a refreshed token' : 'upstream refused the token',
      });
    };

    // Bodies stream through untouched.
    for (const path of [proxied.prefix, `${proxied.prefix}/*`]) {
      routeOnly(app, route.methods, path, handler, { body: { kind: 'stream' } });
    }
  }
}
