/**
 * Hosting the SPA build at "/": files as they are, and deep links (navigations to paths without a
 * file extension) answered with index.html so client-side routing works after a reload.
 */
import { extname, resolve } from 'node:path';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { GatehouseConfig } from '../config/load.js';

export async function spaRoutes(app: FastifyInstance, config: GatehouseConfig): Promise<void> {
  const { root, index } = config.static;
  if (!root) return;
  await app.register(fastifyStatic, {
    root: resolve(root),
    index: [index],
    wildcard: true,
    cacheControl: false,
    setHeaders: (reply, path) => {
      reply.header('x-content-type-options', 'nosniff');
      reply.header('cache-control', path.endsWith(`/${index}`) ? 'no-cache' : 'public, max-age=300');
    },
  });
}

/** A browser navigation to a client-side route: GET/HEAD, wants HTML, no file extension. */
export function isDeepLink(request: FastifyRequest, basePath: string): boolean {
  if (request.method !== 'GET' && request.method !== 'HEAD') return false;
  const path = request.url.split('?', 1)[0]!;
  if (path === basePath || path.startsWith(`${basePath}/`)) return false;
  if (extname(path) !== '') return false;
  return (request.headers.accept ?? '').includes('text/html');
}

export function sendIndex(reply: FastifyReply, config: GatehouseConfig): FastifyReply {
  reply.header('cache-control', 'no-cache').header('x-content-type-options', 'nosniff');
  return reply.sendFile(config.static.index);
}
