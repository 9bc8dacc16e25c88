/**
 * WebSocket upgrades on routes that allow them. A browser cannot add the anti-forgery header to a
 * WebSocket handshake, so the handshake must instead come from an allowed Origin (and Fetch
 * Metadata must not say cross-site); then the session cookie is checked, the route's token is
 * attached to the upstream handshake, and the two sockets are joined. A connection lives no longer
 * than its session: it is closed at once when this instance ends the session, and within
 * session.websocketCheckInterval when it ends anywhere else.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { GatehouseError, toGatehouseError } from '../errors.js';
import { writeRawError } from '../http-errors.js';
import { originVerifier } from '../security/hooks.js';
import type { Services } from '../services.js';
import type { ActiveSession } from '../session/session-manager.js';
import { admit } from './admission.js';
import type { UndiciTransport } from '../node/undici-transport.js';
import type { ProxiedRoute } from './proxied-route.js';

/** Upstream handshake headers the browser may see. */
const HANDSHAKE_HEADERS = ['sec-websocket-accept', 'sec-websocket-protocol', 'sec-websocket-extensions'];

interface Connection {
  session: ActiveSession;
  sockets: Duplex[];
}

export function websocketProxy(app: FastifyInstance, services: Services, routes: readonly ProxiedRoute[]): void {
  const { config, sessions, limits } = services;
  const websocketRoutes = routes.filter((r) => r.route.websocket);
  const open = new Map<string, Set<Connection>>();
  const verifyOrigin = originVerifier(config);

  const close = (connection: Connection) => {
    for (const socket of connection.sockets) socket.destroy();
    const forSession = open.get(connection.session.key);
    forSession?.delete(connection);
    if (forSession?.size === 0) open.delete(connection.session.key);
  };
  const closeSession = (key: string) => {
    for (const connection of open.get(key) ?? []) close(connection);
  };
  sessions.events.on('end', closeSession);

  // Sessions can end elsewhere (another instance, expiry): look at each open one now and then.
  const checker = setInterval(async () => {
    for (const [key, connections] of open) {
      const [first] = connections;
      const data = first && (await sessions.latest(first.session).catch(() => first.session.data));
      if (!data || Date.now() >= sessions.idleExpiresAt(data)) closeSession(key);
    }
  }, config.session.websocketCheckInterval);
  checker.unref();

  app.addHook('onClose', async () => {
    clearInterval(checker);
    sessions.events.off('end', closeSession);
    for (const key of [...open.keys()]) closeSession(key);
  });

  app.server.on('upgrade', (request: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', () => socket.destroy());
    handshake(request, socket, head).catch((error: unknown) => {
      const failure = toGatehouseError(error);
      app.log.info(
        { code: failure.code, detail: failure.detail, path: request.url?.split('?', 1)[0] },
        'websocket refused',
      );
      writeRawError(socket, failure);
    });
  });

  async function handshake(request: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    const url = request.url ?? '/';
    const route = websocketRoutes.find((r) => r.serves(url.split('?', 1)[0]!));
    if (!route) throw new GatehouseError('not_found', { detail: 'no websocket route here' });
    if (request.method !== 'GET' || request.headers.upgrade?.toLowerCase() !== 'websocket') {
      throw new GatehouseError('invalid_request', { detail: 'not a websocket handshake' });
    }
    const unverified = verifyOrigin?.(request.headers);
    if (unverified) throw unverified;
    const ip = request.socket.remoteAddress ?? '';
    await limits.check('ip', ip, config.rateLimit.perIp);
    const cookies = app.parseCookie(request.headers.cookie ?? '');
    const candidate = { method: 'GET', headers: request.headers, cookies, ip, websocket: true };
    const { session, credential } = await admit(services, route, candidate, undefined);
    const forward = route.forward('GET', url, request.headers, { clientIp: ip, requestId: randomUUID() });
    await route.upstream.authorize(forward, credential);
    // WebSocket upgrades are Node's (server.ts): its routes' transports are undici's.
    const upgraded = await (route.upstream.transport as UndiciTransport).upgrade(forward);

    if (!socket.writable) return void upgraded.socket.destroy();
    const lines = ['HTTP/1.1 101 Switching Protocols', 'Upgrade: websocket', 'Connection: Upgrade'];
    for (const name of HANDSHAKE_HEADERS) {
      const value = upgraded.headers[name];
      if (value !== undefined) lines.push(`${name}: ${Array.isArray(value) ? value.join(', ') : value}`);
    }
    socket.write(`${lines.join('\r\n')}\r\n\r\n`);
    if (head.length > 0) upgraded.socket.write(head);
    socket.pipe(upgraded.socket).pipe(socket);

    if (!session) return;
    const connection: Connection = { session, sockets: [socket, upgraded.socket] };
    let forSession = open.get(session.key);
    if (!forSession) open.set(session.key, (forSession = new Set()));
    forSession.add(connection);
    for (const side of connection.sockets) {
      side.on('close', () => close(connection));
      side.on('error', () => close(connection));
    }
  }
}
