/**
 * Hosting the SPA build at "/" (or the app's pathPrefix): files as they are, and deep links (navigations to paths without a
 * file extension) answered with index.html so client-side routing works after a reload.
 *
 * Caching follows how SPA builds are made: files in the hashed-asset folders never change under
 * their name, so browsers and CDNs keep them for a year; everything else (index.html above all,
 * which names the current hashed files) is revalidated on every use, cheaply, with its ETag.
 */
import { resolve } from 'node:path';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { GatehouseConfig } from '../config/load.js';
import { IMMUTABLE, REVALIDATE } from './deep-link.js';

export { isDeepLink } from './deep-link.js';

export async function spaRoutes(app: FastifyInstance, config: GatehouseConfig): Promise<void> {
  const { root, index, immutable, precompressed } = config.static;
  if (!root) return;
  const folder = resolve(root);
  // Paths arrive from @fastify/send as absolute file paths inside `folder`.
  const immutableFolders = immutable.map((prefix) => resolve(folder, `.${prefix}`) + '/');
  await app.register(fastifyStatic, {
    root: folder,
    // An app under a path (apps.<name>.pathPrefix) has its files there.
    prefix: `${config.pathPrefix}/`,
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

export function sendIndex(reply: FastifyReply, config: GatehouseConfig): FastifyReply {
  return reply.sendFile(config.static.index);
}
