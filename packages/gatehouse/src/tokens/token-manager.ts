/**
 * Which credential a proxied request carries. Routes ask for the user's access token or none.
 */
import type { RouteConfig } from '../config/schema.js';
import type { ActiveSession } from '../session/session-manager.js';

/** The Authorization header value for a request on `route`, or undefined for none. */
export function authorizationFor(route: RouteConfig, session: ActiveSession | undefined): string | undefined {
  if (route.token === 'none' || !session) return undefined;
  // token_type is case-insensitive (RFC 6749 §5.1); send the canonical scheme.
  return `Bearer ${session.data.tokens.accessToken}`;
}
