/**
 * An upstream's step-up challenge (RFC 9470 §3): a 401 whose WWW-Authenticate says
 * `error="insufficient_user_authentication"`, with the `acr_values` and/or `max_age` it needs. A
 * token refresh cannot satisfy it (the sign-in itself must be stronger or more recent), so it goes
 * to the browser as 401 step_up_required naming the same.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { GatehouseError } from '../errors.js';
import { stepUpRequired } from '../security/authorization.js';

/** The step_up_required error for an upstream answer that is such a challenge, else undefined. */
export function stepUpChallenge(headers: IncomingHttpHeaders): GatehouseError | undefined {
  const header = headers['www-authenticate'];
  const challenges = Array.isArray(header) ? header.join(', ') : (header ?? '');
  const params = new Map<string, string>();
  for (const [, name, quoted, token] of challenges.matchAll(/([A-Za-z_]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]+))/g)) {
    if (!params.has(name!.toLowerCase())) params.set(name!.toLowerCase(), (quoted ?? token)!.replace(/\\(.)/g, '$1'));
  }
  if (params.get('error') !== 'insufficient_user_authentication') return undefined;
  const acr = params.get('acr_values')?.split(' ').filter(Boolean);
  const maxAge = params.get('max_age');
  const seconds = maxAge !== undefined && /^\d{1,8}$/.test(maxAge) ? Number(maxAge) : undefined;
  return stepUpRequired(
    { acr: acr?.length ? acr : undefined, maxAgeMs: seconds === undefined ? undefined : seconds * 1000 },
    'upstream asked for a stronger or more recent sign-in',
  );
}
