/**
 * Claim-based authorization: whether the signed-in user may use a route or endpoint, decided from
 * the session alone (granted scopes, ID token claims), so a refused request never reaches an
 * upstream. No session: 401. A rule not met: 403, with the reason in the log only.
 */
import type { GatehouseConfig } from '../config/load.js';
import type { AccessRule } from '../config/schema.js';
import { GatehouseError } from '../errors.js';
import type { ActiveSession } from '../session/session-manager.js';
import { userClaims } from '../session/session.js';

/** The signed-in user as authorization and extension endpoints see them. */
export interface User {
  readonly sub: string;
  /** The ID token's claims, protocol claims (aud, exp, nonce...) left out, as /auth/user shows them. */
  readonly claims: Readonly<Record<string, unknown>>;
  /** Scopes granted to the session's access token. */
  readonly scopes: readonly string[];
  /** Values of the roles claim (oidc.rolesClaim). */
  readonly roles: readonly string[];
}

type ClaimValue = string | number | boolean;

export class Authorizer {
  readonly #rolesClaim: string;
  readonly #requestedScopes: readonly string[];

  constructor(config: GatehouseConfig) {
    this.#rolesClaim = config.oidc.rolesClaim;
    this.#requestedScopes = config.oidc.scopes;
  }

  /** The user of a session. */
  user(session: ActiveSession): User {
    const claims = userClaims(session.data.tokens);
    // RFC 6749 §5.1: a token response without "scope" granted exactly what was requested.
    const scope = session.data.tokens.scope;
    return {
      sub: session.data.sub,
      claims,
      scopes: scope === undefined ? this.#requestedScopes : scope.split(' ').filter(Boolean),
      roles: asList(valueAt(claims, this.#rolesClaim)).filter((r): r is string => typeof r === 'string'),
    };
  }

  /**
   * Throws 401/403 unless the session's user satisfies every rule: 403 when no sign-in could help
   * (scopes, roles, claims), then 401 step_up_required when a stronger or more recent one would.
   */
  check(rule: AccessRule, session: ActiveSession | undefined): User {
    if (!session) throw new GatehouseError('unauthenticated');
    const user = this.user(session);
    const refusal = refusalReason(rule, user);
    if (refusal) throw new GatehouseError('forbidden', { detail: refusal });
    const stepUp = stepUpReason(rule, user, Date.now());
    if (stepUp) throw stepUpRequired({ acr: rule.acr, maxAgeMs: rule.maxAge }, stepUp);
    return user;
  }
}

/** What the sign-in must reach, as the browser is told (RFC 9470's names): the SPA signs in again with it. */
export function stepUpRequired(needs: { acr?: readonly string[]; maxAgeMs?: number }, detail: string): GatehouseError {
  const body: Record<string, string | number> = {};
  if (needs.acr) body.acr_values = needs.acr.join(' ');
  if (needs.maxAgeMs !== undefined) body.max_age = Math.floor(needs.maxAgeMs / 1000);
  return new GatehouseError('step_up_required', { body, detail });
}

/** Why the user's sign-in is too weak or too old for `rule` (the ID token's acr and auth_time), or undefined. */
function stepUpReason(rule: AccessRule, user: User, now: number): string | undefined {
  const acr = user.claims.acr;
  if (rule.acr && !(typeof acr === 'string' && rule.acr.includes(acr))) {
    return `acr ${typeof acr === 'string' ? acr : 'absent'}, not one of ${rule.acr.join(', ')}`;
  }
  if (rule.maxAge !== undefined) {
    const authTime = user.claims.auth_time;
    if (typeof authTime !== 'number') return 'no auth_time in the ID token';
    // auth_time has whole seconds: the sign-in happened within the second after it.
    if (now - (authTime + 1) * 1000 > rule.maxAge) return `authenticated ${Math.round(now / 1000 - authTime)} s ago`;
  }
  return undefined;
}

/** Why `user` fails `rule`, or undefined when it passes. */
function refusalReason(rule: AccessRule, user: User): string | undefined {
  const missing = rule.scopes?.find((scope) => !user.scopes.includes(scope));
  if (missing) return `scope ${missing} not granted`;
  if (rule.roles && !rule.roles.some((role) => user.roles.includes(role))) {
    return `none of the roles ${rule.roles.join(', ')}`;
  }
  for (const [name, expected] of Object.entries(rule.claims ?? {})) {
    const allowed = asList(expected);
    const actual = asList(valueAt(user.claims, name));
    if (!actual.some((value) => allowed.includes(value as ClaimValue))) return `claim ${name} does not match`;
  }
  return undefined;
}

/** A value by name, or by dotted path into nested objects when there is no key of that exact name (claims such as "https://example.com/roles" contain dots). */
export function valueAt(claims: Readonly<Record<string, unknown>>, name: string): unknown {
  if (Object.hasOwn(claims, name)) return claims[name];
  let value: unknown = claims;
  for (const part of name.split('.')) {
    if (!value || typeof value !== 'object' || !Object.hasOwn(value, part)) return undefined;
    value = (value as Record<string, unknown>)[part];
  }
  return value;
}

function asList(value: unknown): readonly unknown[] {
  if (value === undefined || value === null) return [];
  return Array.isArray(value) ? value : [value];
}
