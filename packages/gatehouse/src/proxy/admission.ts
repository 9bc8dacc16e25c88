/**
 * What a request on a route must pass before anything reaches the upstream, in one place for every
 * way a request arrives: Gatehouse's own proxy, its WebSocket upgrades, and a gateway asking on a
 * browser's behalf (gateway/forward-auth.ts). In order: a WebSocket handshake's Origin (it cannot
 * carry the anti-forgery header, so it must come from an allowed origin), the session (401), the
 * anti-forgery checks of everything else (403), the rate limits (429), the route's `authorize` rules (403), the declared body size (413), and last
 * the credential, renewed when needed exactly once.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { HttpReply } from '../http/exchange.js';
import { GatehouseError } from '../errors.js';
import type { Services } from '../services.js';
import type { ActiveSession } from '../session/session-manager.js';
import type { Credential } from '../tokens/token-manager.js';
import type { ProxiedRoute } from './proxied-route.js';

/** The browser's request as far as admission is concerned. */
export interface Candidate {
  method: string;
  headers: IncomingHttpHeaders;
  cookies: Record<string, string | undefined>;
  ip: string;
  /** A WebSocket handshake. */
  websocket?: boolean;
}

export interface Admitted {
  session: ActiveSession | undefined;
  credential: Credential | undefined;
}

/** Admits `candidate` to `proxied`'s upstream, or throws the error the browser gets. `reply` receives cookie changes. */
export async function admit(
  services: Services,
  proxied: ProxiedRoute,
  candidate: Candidate,
  reply: HttpReply | undefined,
): Promise<Admitted> {
  const { sessions, checks, limits, authorizer, tokens } = services;
  const { route } = proxied;
  // A handshake from a foreign origin is refused before its cookie is looked at.
  const foreign = candidate.websocket ? websocketOriginProblem(services, candidate) : undefined;
  if (foreign) throw foreign;
  const session = route.requireSession
    ? await sessions.require(candidate, reply)
    : await sessions.load(candidate, reply, { slide: true });
  const refused = candidate.websocket
    ? undefined
    : checks.apiProblem(candidate, { allowFormBodies: route.allowFormBodies });
  if (refused) throw refused;
  await proxied.countAgainstLimits(limits, session, candidate.ip);
  if (route.authorize) authorizer.check(route.authorize, session);
  const length = candidate.headers['content-length'];
  if (length !== undefined && Number(length) > route.maxBodySize) {
    throw new GatehouseError('payload_too_large', { detail: `content-length ${length}` });
  }
  return { session, credential: await tokens.credentialFor(route, session) };
}

/** Instead of the anti-forgery header a WebSocket cannot carry: its Origin must be there, and ours. */
function websocketOriginProblem(services: Services, candidate: Candidate): GatehouseError | undefined {
  if (candidate.headers.origin === undefined) return new GatehouseError('origin_not_allowed', { detail: 'no Origin' });
  return services.checks.originProblem(candidate);
}
