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

  /** Throws 401/403 unless the session's user satisfies every rule. */
  check(rule: AccessRule, session: ActiveSession | undefined): User {
    if (!session) throw new GatehouseError('unauthenticated');
    const user = this.user(session);
    const refusal = refusalReason(rule, user);
    if (refusal) throw new GatehouseError('forbidden', { detail: refusal });
    return user;
  }
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
