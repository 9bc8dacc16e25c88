/**
 * The targets whose routes carry a token for their API alone: `gh-exchange` (RFC 8693: the user's
 * access token exchanged for one with the audience `bench-orders`) and `gh-resource` (RFC 8707: a
 * token for `https://bench-orders.example` from the refresh token). Both are Gatehouse with the
 * memory store, so `gh-memory` (the session's own Bearer token on every route) is their plain twin.
 *
 * Gatehouse obtains such a token on a session's first call and keeps it in the session until
 * shortly before it expires (3600 s here), so under load it costs a lookup per call. That is what
 * tokens1k measures, and only if it is true: every start of these targets is checked against the
 * provider's record, each session must have obtained its token exactly once (its first call) and
 * never again (lib/targets.ts, scenarios/throughput.ts).
 */
import type { DemoIdpOptions } from '../../examples/demo/src/idp.js';
import { TOKEN_EXCHANGE } from '../../examples/demo/src/token-exchange.js';
import type { BenchIdp, GrantEvent } from './idp.js';

export type DerivedKind = 'exchange' | 'resource';

const AUDIENCE = 'bench-orders';
const RESOURCE = 'https://bench-orders.example';
const SCOPE = 'orders:read';

/**
 * What the main provider adds for these targets: the token-exchange grant (every client may then
 * use it) and one more resource server. The plain targets ask for no resource, so their tokens stay
 * the demo API's, as before.
 */
export function derivedProvider(): Pick<DemoIdpOptions, 'tokenExchange' | 'resources'> {
  return {
    tokenExchange: { audiences: { [AUDIENCE]: SCOPE }, ttlSeconds: 3600 },
    resources: { [RESOURCE]: SCOPE },
  };
}

/** What every route of the target adds to its settings (lib/gatehouse.ts gatehouseConfig). */
export function derivedRoute(kind: DerivedKind): Record<string, unknown> {
  return kind === 'exchange'
    ? { token: { exchange: { audience: AUDIENCE, scope: SCOPE } } }
    : { resource: RESOURCE, scope: SCOPE };
}

/** The provider's grant that gave a session its token for the API. */
function isDerived(kind: DerivedKind, e: GrantEvent): boolean {
  return kind === 'exchange' ? e.type === TOKEN_EXCHANGE : e.type === 'refresh_token';
}

/** What the provider saw of a client's sessions since a moment. */
export interface DerivedEvidence {
  kind: DerivedKind;
  /** Sign-ins (authorization-code grants): one session each. */
  sessions: number;
  /** Grants that gave a session its API token, and how many sessions had more than one. */
  grants: number;
  repeated: number;
  /** Sessions that had none, and grants that belong to none of the sessions. */
  without: number;
  stray: number;
  /** Audiences of those tokens, and any refusal. */
  audiences: string[];
  refusals: string[];
}

export function derivedEvidence(idp: BenchIdp, kind: DerivedKind, clientId: string, since: number): DerivedEvidence {
  const events = idp.events.filter((e) => e.clientId === clientId && e.at >= since);
  const sessions = new Set(events.filter((e) => e.type === 'authorization_code' && e.ok).map((e) => e.grantId));
  const derived = events.filter((e) => e.ok && isDerived(kind, e));
  const perSession = new Map<string | undefined, number>();
  for (const e of derived) perSession.set(e.grantId, (perSession.get(e.grantId) ?? 0) + 1);
  return {
    kind,
    sessions: sessions.size,
    grants: derived.length,
    repeated: [...perSession.values()].filter((n) => n > 1).length,
    without: [...sessions].filter((s) => !perSession.has(s)).length,
    stray: derived.filter((e) => !sessions.has(e.grantId)).length,
    audiences: [...new Set(derived.map((e) => String(e.audience)))],
    refusals: [...new Set(events.filter((e) => !e.ok).map((e) => `${e.type}: ${e.error}`))],
  };
}

/**
 * What is wrong, or '' when every session got exactly one token for the API, with its audience,
 * and nothing was refused. Called once every session signed in so far has made a call: a session
 * without its token has called the upstream with another one.
 */
export function derivedMismatch(e: DerivedEvidence): string {
  const audience = e.kind === 'exchange' ? AUDIENCE : RESOURCE;
  const wrong: string[] = [];
  if (e.sessions === 0) wrong.push('no sign-in reached the token endpoint');
  if (e.without > 0) wrong.push(`${e.without} of ${e.sessions} sessions obtained no token for the API`);
  if (e.repeated > 0) wrong.push(`${e.repeated} sessions obtained it more than once (not cached)`);
  if (e.stray > 0) wrong.push(`${e.stray} grants for no session signed in since the start`);
  if (e.audiences.some((a) => a !== audience)) wrong.push(`audience ${e.audiences.join(', ')} (expected ${audience})`);
  if (e.refusals.length) wrong.push(`refused: ${e.refusals.join('; ')}`);
  return wrong.join('; ');
}

/** One line for the log. */
export function describeDerived(e: DerivedEvidence): string {
  const grant = e.kind === 'exchange' ? 'token exchanges' : 'refresh-token grants for the resource';
  return `${e.sessions} sessions, ${e.grants} ${grant} (audience ${e.audiences.join(', ') || 'none'})`;
}
