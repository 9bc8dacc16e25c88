/**
 * Browser-facing request checks that need no state. Each returns an error to throw, or undefined.
 */
import type { FastifyRequest } from 'fastify';
import { GatehouseError } from '../errors.js';

/** The anti-forgery header every cookie-authenticated API call must carry (a static value forces a CORS preflight). */
export const CSRF_HEADER = 'x-csrf';

export function csrfHeaderProblem(request: FastifyRequest): GatehouseError | undefined {
  return request.headers[CSRF_HEADER] === '1' ? undefined : new GatehouseError('csrf_header_missing');
}

/**
 * Sign-in may only start from a top-level navigation: an <img>, <iframe> or fetch() from any page
 * must not be able to kick off a login. Browsers that send no Fetch Metadata are let through.
 */
export function navigationProblem(request: FastifyRequest): GatehouseError | undefined {
  const mode = request.headers['sec-fetch-mode'];
  const dest = request.headers['sec-fetch-dest'];
  if ((mode !== undefined && mode !== 'navigate') || (dest !== undefined && dest !== 'document')) {
    return new GatehouseError('navigation_required', {
      detail: `sec-fetch-mode=${mode} sec-fetch-dest=${dest}`,
    });
  }
  return undefined;
}
