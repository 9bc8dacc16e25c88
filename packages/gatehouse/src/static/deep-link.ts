/**
 * Which requests are deep links into the SPA: browser navigations to a client-side route (GET or
 * HEAD, wanting HTML, no file extension, outside basePath), answered with index.html so routing
 * works after a reload. Caching follows how SPA builds are made: files in the hashed-asset folders
 * never change under their name; everything else (index.html above all) is revalidated on every use.
 */
import type { HttpRequest } from '../http/exchange.js';

export const IMMUTABLE = 'public, max-age=31536000, immutable';
export const REVALIDATE = 'no-cache';

export function isDeepLink(request: Pick<HttpRequest, 'method' | 'url' | 'headers'>, basePath: string): boolean {
  if (request.method !== 'GET' && request.method !== 'HEAD') return false;
  const path = request.url.split('?', 1)[0]!;
  if (path === basePath || path.startsWith(`${basePath}/`)) return false;
  const last = path.slice(path.lastIndexOf('/') + 1);
  if (last.lastIndexOf('.') > 0 && last !== '..') return false; // a file extension (as node:path's extname sees one)
  return (request.headers.accept ?? '').includes('text/html');
}
