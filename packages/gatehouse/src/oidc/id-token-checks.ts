import type { JWTPayload } from 'jose';
import { GatehouseError } from '../errors.js';

/**
 * OIDC Core §12.2: an ID token from a refresh must be about the same user, for the same client,
 * from the same sign-in: iss, sub and aud equal; azp and auth_time, when present, unchanged.
 * Anything else ends the session (`session_expired`).
 */
export function assertSameUser(original: JWTPayload, refreshed: JWTPayload): void {
  const audiences = (payload: JWTPayload) => JSON.stringify([payload.aud ?? []].flat().sort());
  const changed =
    refreshed.iss !== original.iss ||
    refreshed.sub !== original.sub ||
    audiences(refreshed) !== audiences(original) ||
    (refreshed.azp !== undefined && refreshed.azp !== original.azp) ||
    (refreshed.auth_time !== undefined && refreshed.auth_time !== original.auth_time);
  if (changed) throw new GatehouseError('session_expired', { detail: 'refreshed ID token is not about the same user' });
}
