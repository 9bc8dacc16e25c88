/**
 * Header policy, both ways. Towards the upstream: the browser's Cookie, Authorization, forwarding
 * headers and hop-by-hop headers never pass; Gatehouse sets its own. Back to the browser: hop-by-hop
 * headers and Set-Cookie (an upstream must not plant cookies on the app's origin) are dropped.
 */
import type { IncomingHttpHeaders } from 'node:http';

/** Hop-by-hop headers (RFC 9110 §7.6.1) plus the legacy ones proxies also drop. */
const HOP_BY_HOP = [
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
];

const NOT_FORWARDED = new Set([
  ...HOP_BY_HOP,
  'host',
  'cookie',
  'authorization',
  'forwarded',
  'x-forwarded-for',
  'x-forwarded-host',
  'x-forwarded-proto',
  'x-forwarded-port',
  'x-forwarded-prefix',
  'x-real-ip',
  'x-csrf',
  // Proof of possession is Gatehouse's to give, never the browser's.
  'dpop',
]);

/** Set-Cookie: an upstream must not plant cookies on the app's origin; DPoP-Nonce is for Gatehouse's proofs. */
const NOT_RETURNED = new Set([...HOP_BY_HOP, 'set-cookie', 'dpop-nonce']);

export interface ForwardContext {
  clientIp: string;
  publicHost: string;
  publicProto: string;
  requestId: string;
}

/** The headers sent upstream for a browser request. */
export function upstreamRequestHeaders(
  incoming: IncomingHttpHeaders,
  context: ForwardContext,
): Record<string, string | string[]> {
  const out = copyHeaders(incoming, NOT_FORWARDED);
  out['x-forwarded-for'] = context.clientIp;
  out['x-forwarded-host'] = context.publicHost;
  out['x-forwarded-proto'] = context.publicProto;
  out['x-request-id'] = context.requestId;
  return out;
}

/** The upstream's response headers the browser may see, added to `into` (where the upstream's replace same-named entries). */
export function browserResponseHeaders(
  upstream: IncomingHttpHeaders,
  into: Record<string, string | string[]> = {},
): Record<string, string | string[]> {
  const out = copyHeaders(upstream, NOT_RETURNED, into);
  // Proxied responses carry user data: keep them out of shared caches unless the API says otherwise.
  if (out['cache-control'] === undefined) out['cache-control'] = 'no-store';
  return out;
}

/** Copies every header except the excluded ones and those the Connection header names. */
function copyHeaders(
  source: IncomingHttpHeaders,
  excluded: ReadonlySet<string>,
  out: Record<string, string | string[]> = {},
): Record<string, string | string[]> {
  const connectionListed = listedInConnection(source.connection);
  for (const name in source) {
    const value = source[name];
    if (value === undefined || excluded.has(name) || connectionListed?.has(name)) continue;
    out[name] = value;
  }
  return out;
}

/** Headers named in a Connection header are hop-by-hop too. */
function listedInConnection(connection: string | string[] | undefined): Set<string> | undefined {
  // The usual value names a header dropped anyway: no set to build on every answer.
  if (connection === undefined || connection === 'keep-alive') return undefined;
  const names = (Array.isArray(connection) ? connection.join(',') : connection).split(',');
  return new Set(names.map((n) => n.trim().toLowerCase()).filter(Boolean));
}
