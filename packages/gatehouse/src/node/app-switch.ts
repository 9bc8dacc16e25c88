/**
 * Several apps on one listener (config `apps`). Each request goes to the app whose publicUrl host
 * name it names and whose pathPrefix its path starts with (the longest such prefix); anything else
 * goes to the main app, as a single app would take it. Each app is a whole Fastify instance with
 * its own services, so nothing of one (sessions, cookies, routes, limits) is reachable from another:
 * the switch only hands the request, or the WebSocket upgrade, to the right one.
 *
 * The Host header decides (never X-Forwarded-Host): a proxy in front must pass it on unchanged, as
 * an ALB does, or nginx with `proxy_set_header Host $host`.
 */
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import type { GatehouseConfig } from '../config/load.js';
import { GatehouseError } from '../errors.js';
import { answerClientError, writeRawError } from '../http-errors.js';

/** Fastify's own default, kept for the shared listener. */
const KEEP_ALIVE_TIMEOUT_MS = 72_000;

interface Target {
  host: string;
  prefix: string;
  app: FastifyInstance;
}

export interface AppSwitch {
  listen(host: string, port: number): Promise<AddressInfo>;
  close(): Promise<void>;
}

/** `apps`: the main app first, then the others, each with its configuration. */
export function appSwitch(
  apps: readonly { app: FastifyInstance; services: { config: GatehouseConfig } }[],
  config: GatehouseConfig,
): AppSwitch {
  const [main, ...others] = apps;
  // Longest prefix first, so "/admin/reports" wins over "/admin" on the same host.
  const targets: Target[] = others
    .map(({ app, services }) => ({
      host: new URL(services.config.publicOrigin).hostname,
      prefix: services.config.pathPrefix,
      app,
    }))
    .sort((a, b) => b.prefix.length - a.prefix.length);

  const pick = (request: IncomingMessage): FastifyInstance => {
    const host = hostnameOf(request.headers.host);
    const path = (request.url ?? '/').split('?', 1)[0]!;
    const target = targets.find(
      (t) => t.host === host && (t.prefix === '' || path === t.prefix || path.startsWith(`${t.prefix}/`)),
    );
    return (target ?? main!).app;
  };

  const server = createServer({ maxHeaderSize: config.server.maxHeaderSize }, (request, response) => {
    pick(request).server.emit('request', request, response);
  });
  server.keepAliveTimeout = KEEP_ALIVE_TIMEOUT_MS;
  server.on('clientError', answerClientError);
  server.on('upgrade', (request: IncomingMessage, socket: Duplex, head: Buffer) => {
    const { server: target } = pick(request);
    if (target.listenerCount('upgrade') === 0) return writeRawError(socket, new GatehouseError('not_found'));
    target.emit('upgrade', request, socket, head);
  });

  return {
    async listen(host, port) {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => {
          server.off('error', reject);
          resolve();
        });
      });
      return server.address() as AddressInfo;
    },
    async close() {
      if (!server.listening) return;
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      await closed;
    },
  };
}

/** The host name of a Host header, lower case, without its port ("[::1]:8080" → "[::1]"). */
function hostnameOf(header: string | undefined): string {
  if (!header) return '';
  const host = header.toLowerCase();
  if (host.startsWith('[')) return host.slice(0, host.indexOf(']') + 1);
  const colon = host.indexOf(':');
  return colon === -1 ? host : host.slice(0, colon);
}
