/**
 * What the demo's internal APIs share: they trust nothing but a valid access token (a JWT signed by
 * the demo provider, for the API audience, not expired), never see cookies, and record what they
 * received so tests can check which user's token reached them.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRemoteJWKSet, jwtVerify, type JWTPayload } from 'jose';

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
  const verify = async (req: IncomingMessage): Promise<JWTPayload | undefined> => {
    const match = /^Bearer (.+)$/i.exec(req.headers.authorization ?? '');
    if (!match) return undefined;
    try {
      const { payload } = await jwtVerify(match[1]!, jwks, {
        issuer: options.issuer,
        audience: options.audience,
        typ: 'at+jwt',
      });
      return payload;
    } catch {
      return undefined;
    }
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
  return {
    url: `http://${options.host ?? '127.0.0.1'}:${port}`,
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
