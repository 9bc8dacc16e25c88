/**
 * GET /api/auth/events: the session as a stream of server-sent events the SPA can follow instead
 * of polling blindly (docs/http-api.md):
 *
 *   session       the deadlines now (idle, absolute); again whenever activity moves them
 *   ending-soon   the nearer deadline is within session.endingSoon: { reason: idle|absolute, at }
 *   user-changed  the ID token changed (a refresh brought new claims): the user's claims
 *   ended         the session is over: logout in another tab, back-channel logout, an admin, a
 *                 timeout, on any instance; the stream then ends
 *
 * Watching never counts as activity (it would keep an idle session alive by itself). The session
 * is looked at every WATCH_INTERVAL_MS, from the store's exact in-process copy where it has one.
 */
import { GatehouseError } from '../errors.js';
import { noStore, type HttpReply, type HttpRequest } from '../http/exchange.js';
import { routeOnly, type Router } from '../http/router.js';
import type { Services } from '../services.js';
import { userClaims, type SessionData } from './session.js';
import type { ActiveSession, SessionManager } from './session-manager.js';

const WATCH_INTERVAL_MS = 500;
/** A comment line now and then, so proxies do not close a quiet stream. */
const HEARTBEAT_MS = 15_000;

export function sessionEventsRoute(app: Router, services: Services): void {
  const { config, sessions, checks, limits } = services;
  routeOnly(app, ['GET'], `${config.basePath}/auth/events`, async (request: HttpRequest, reply: HttpReply) => {
    noStore(reply);
    const refused = checks.apiProblem(request);
    if (refused) throw refused;
    const session = await sessions.load(request, reply, { slide: false });
    if (!session) throw new GatehouseError('unauthenticated', { detail: 'event stream without a session' });
    await limits.check('session', session.key, config.rateLimit.perSession);
    reply.headers({ 'content-type': 'text/event-stream; charset=utf-8', 'x-accel-buffering': 'no' });
    reply.send(eventStream(sessions, session, config.session.endingSoon));
    return reply;
  });
}

function eventStream(
  sessions: SessionManager,
  session: ActiveSession,
  endingSoonMs: number,
): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  let timer: ReturnType<typeof setTimeout> | undefined;
  let stopped = false;
  /** What the browser has been told. */
  const sent = { idleAt: 0, absoluteAt: 0, warnedFor: 0, idToken: session.data.tokens.idToken };
  return new ReadableStream<Uint8Array>({
    start(controller) {
      const emit = (event: string, data: unknown) =>
        controller.enqueue(encoder.encode(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`));
      const end = () => {
        stopped = true;
        emit('ended', {});
        controller.close();
      };
      let lastWrite = Date.now();
      const look = (data: SessionData | undefined) => {
        const now = Date.now();
        if (!data) return end();
        const idleAt = sessions.idleExpiresAt(data);
        const absoluteAt = data.expiresAt;
        if (now >= Math.min(idleAt, absoluteAt)) return end();
        if (idleAt !== sent.idleAt || absoluteAt !== sent.absoluteAt) {
          emit('session', { sessionExpiresAt: iso(idleAt), absoluteExpiresAt: iso(absoluteAt) });
          sent.idleAt = idleAt;
          sent.absoluteAt = absoluteAt;
          lastWrite = now;
        }
        const soonest = Math.min(idleAt, absoluteAt);
        if (soonest - now <= endingSoonMs && sent.warnedFor !== soonest) {
          emit('ending-soon', { reason: idleAt <= absoluteAt ? 'idle' : 'absolute', at: iso(soonest) });
          sent.warnedFor = soonest;
          lastWrite = now;
        }
        if (data.tokens.idToken !== sent.idToken) {
          emit('user-changed', userClaims(data.tokens));
          sent.idToken = data.tokens.idToken;
          lastWrite = now;
        }
        if (now - lastWrite >= HEARTBEAT_MS) {
          controller.enqueue(encoder.encode(': still here\n\n'));
          lastWrite = now;
        }
      };
      const tick = async () => {
        if (stopped) return;
        try {
          look(await sessions.current(session));
        } catch {
          // The store is unreachable for now: nothing is known to have changed; look again.
        }
        if (!stopped) timer = setTimeout(tick, WATCH_INTERVAL_MS);
      };
      look(session.data);
      if (!stopped) timer = setTimeout(tick, WATCH_INTERVAL_MS);
    },
    cancel() {
      // The browser went away.
      stopped = true;
      clearTimeout(timer);
    },
  });
}

const iso = (ms: number) => new Date(ms).toISOString();
