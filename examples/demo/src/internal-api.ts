/**
 * What the demo's internal APIs share: they trust nothing but a valid access token (a JWT signed by
 * the demo provider, for the API audience, not expired), never see cookies, and record what they
 * received so tests can check which user's token reached them. A DPoP-bound token (cnf.jkt) counts
 * only with a proof of possession for this very request (RFC 9449 §7): what every API receiving
 * sender-constrained tokens must check.
 */
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { calculateJwkThumbprint, createRemoteJWKSet, EmbeddedJWK, jwtVerify, type JWK, type JWTPayload } from 'jose';

export interface InternalApi {
  url: string;
  /** Every request it received (newest last, at most 1,000): method, path, and whose token it carried. */
  requests: { method: string; path: string; sub: string | undefined }[];
  close(): Promise<void>;
}

export interface InternalApiOptions {
  issuer: string;
  audience: string;
  port?: number;
  host?: string;
}

/** Answers a request from a verified caller; `path` has no query. */
export type ApiHandler = (
  req: IncomingMessage,
  res: ServerResponse,
  caller: { sub: string; path: string },
) => Promise<void> | void;

export async function startInternalApi(options: InternalApiOptions, handle: ApiHandler): Promise<InternalApi> {
  const jwks = createRemoteJWKSet(new URL(`${options.issuer}/jwks`));
  const seenProofs = new Map<string, number>();
  let origin = '';
  const verify = async (req: IncomingMessage): Promise<JWTPayload | undefined> => {
    const match = /^(Bearer|DPoP) (.+)$/i.exec(req.headers.authorization ?? '');
    if (!match) return undefined;
    try {
      const { payload } = await jwtVerify(match[2]!, jwks, {
        issuer: options.issuer,
        audience: options.audience,
        typ: 'at+jwt',
      });
      const bound = (payload.cnf as { jkt?: string } | undefined)?.jkt;
      if (bound === undefined) return match[1]!.toLowerCase() === 'bearer' ? payload : undefined;
      return match[1]!.toLowerCase() === 'dpop' && (await possessionProven(req, match[2]!, bound))
        ? payload
        : undefined;
    } catch {
      return undefined;
    }
  };
  /** The DPoP proof: signed by the key the token is bound to, for this method and URL, this token, fresh, never seen before. */
  const possessionProven = async (req: IncomingMessage, token: string, jkt: string): Promise<boolean> => {
    const proof = req.headers.dpop;
    if (typeof proof !== 'string') return false;
    const { payload, protectedHeader } = await jwtVerify(proof, EmbeddedJWK, {
      typ: 'dpop+jwt',
      algorithms: ['ES256', 'PS256', 'EdDSA'],
      maxTokenAge: '60s',
      requiredClaims: ['jti', 'htm', 'htu', 'iat'],
    });
    const now = Date.now();
    for (const [jti, at] of seenProofs) if (now - at > 120_000) seenProofs.delete(jti);
    const fresh = !seenProofs.has(String(payload.jti));
    seenProofs.set(String(payload.jti), now);
    return (
      fresh &&
      (await calculateJwkThumbprint(protectedHeader.jwk as JWK)) === jkt &&
      payload.htm === req.method &&
      payload.htu === `${origin}${(req.url ?? '/').split('?', 1)[0]}` &&
      payload.ath === createHash('sha256').update(token).digest('base64url')
    );
  };

  const requests: InternalApi['requests'] = [];
  const server = createServer((req, res) => {
    answer(req, res).catch(() => json(res, 500, { error: 'server_error' }));
  });
  async function answer(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const claims = await verify(req);
    requests.push({ method: req.method ?? '', path: req.url ?? '', sub: claims?.sub });
    if (requests.length > 1000) requests.shift();
    if (!claims?.sub) {
      res.setHeader('www-authenticate', 'Bearer error="invalid_token"');
      return json(res, 401, { error: 'invalid_token' });
    }
    await handle(req, res, { sub: claims.sub, path: (req.url ?? '/').split('?', 1)[0]! });
  }

  await new Promise<void>((resolve) => server.listen(options.port ?? 0, options.host ?? '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  origin = `http://${options.host ?? '127.0.0.1'}:${port}`;
  return {
    url: origin,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

export function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
  res.end(JSON.stringify(body));
}
