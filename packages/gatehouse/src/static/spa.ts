/**
 * Hosting the SPA build at "/": files as they are, and deep links (navigations to paths without a
 * file extension) answered with index.html so client-side routing works after a reload.
 *
 * Caching follows how SPA builds are made: files in the hashed-asset folders never change under
 * their name, so browsers and CDNs keep them for a year; everything else (index.html above all,
 * which names the current hashed files) is revalidated on every use, cheaply, with its ETag.
 */
import { extname, resolve } from 'node:path';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { GatehouseConfig } from '../config/load.js';

const IMMUTABLE = 'public, max-age=31536000, immutable';
const REVALIDATE = 'no-cache';

export async function spaRoutes(app: FastifyInstance, config: GatehouseConfig): Promise<void> {
  const { root, index, immutable, precompressed } = config.static;
  if (!root) return;
  const folder = resolve(root);
  // Paths arrive from @fastify/send as absolute file paths inside `folder`.
  const immutableFolders = immutable.map((prefix) => resolve(folder, `.${prefix}`) + '/');
  await app.register(fastifyStatic, {
    root: folder,
    index: [index],
    wildcard: true,
    preCompressed: precompressed,
    dotfiles: 'ignore',
    redirect: false,
    cacheControl: false,
    setHeaders: (reply, path) => {
      reply.header('x-content-type-options', 'nosniff');
      const hashed = immutableFolders.some((prefix) => path.startsWith(prefix));
      reply.header('cache-control', hashed ? IMMUTABLE : REVALIDATE);
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
  return reply.sendFile(config.static.index);
}
