/**
 * A reverse proxy that stands in front of a real OpenID Provider and turns it into a misbehaving
 * one. It forwards every request as it came (method, path, headers including Host, body) and passes
 * the answer back, except where a test installed a rule: a match on the exchange and a rewrite of
 * the response (forge the token endpoint's id_token, serve another JWKS, change the Location the
 * provider redirects the browser to). It records every request it saw, so tests can count JWKS
 * fetches and token calls.
 *
 * Start it first (its URL becomes the provider's issuer), then the provider, then `target()` it.
 */
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Agent, request } from 'undici';

/** A request the proxy received. */
export interface SeenRequest {
  method: string;
  /** Path and query, as sent. */
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
}

/** A response on its way back to the caller; rules return a changed copy. */
export interface ProxiedResponse {
  status: number;
  headers: Record<string, string | string[]>;
  body: Buffer;
}

export interface TamperRule {
  /** Whether this exchange is to be rewritten (the provider's response is already known). */
  match(request: SeenRequest, response: ProxiedResponse): boolean;
  rewrite(response: ProxiedResponse, request: SeenRequest): ProxiedResponse | Promise<ProxiedResponse>;
}

export interface TamperingProxy {
  /** The proxy's public URL (host "localhost", like the demo provider's issuer). */
  url: string;
  /** Every request received, in order. */
  seen: SeenRequest[];
  /** How many requests so far had this method and path (query ignored). */
  count(method: string, path: string): number;
  /** Where to forward to (the provider's own listener); until set, every request gets a 503. */
  target(url: string): void;
  /** Installs a rule (applied after those installed before it); returns a function that removes it. */
  tamper(rule: TamperRule): () => void;
  /** Removes every rule: the provider behaves again. */
  reset(): void;
  close(): Promise<void>;
}

/** Headers about one connection, never forwarded in either direction (RFC 9110 §7.6.1). */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'expect',
]);

export async function startTamperingProxy(): Promise<TamperingProxy> {
  let upstream: string | undefined;
  let rules: TamperRule[] = [];
  const seen: SeenRequest[] = [];
  const agent = new Agent();

  const forward = async (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks);
    const seenRequest: SeenRequest = {
      method: req.method!,
      path: req.url!,
      headers: req.headers,
      body: body.toString('utf8'),
    };
    seen.push(seenRequest);
    if (!upstream) {
      res.writeHead(503).end();
      return;
    }
    const headers: Record<string, string | string[]> = {};
    for (const [name, value] of Object.entries(req.headers)) {
      // Identity bodies only, so that rules can read and rewrite them.
      if (value !== undefined && !HOP_BY_HOP.has(name) && name !== 'accept-encoding') headers[name] = value;
    }
    const answer = await request(new URL(req.url!, upstream), {
      method: req.method as 'GET',
      headers,
      body: body.length > 0 ? body : undefined,
      dispatcher: agent,
    });
    let response: ProxiedResponse = {
      status: answer.statusCode,
      headers: Object.fromEntries(
        Object.entries(answer.headers).filter(
          (entry): entry is [string, string | string[]] => entry[1] !== undefined && !HOP_BY_HOP.has(entry[0]),
        ),
      ),
      body: Buffer.from(await answer.body.arrayBuffer()),
    };
    for (const rule of rules) {
      if (rule.match(seenRequest, response)) response = await rule.rewrite(response, seenRequest);
    }
    res.writeHead(response.status, { ...response.headers, 'content-length': String(response.body.length) });
    res.end(response.body);
  };

  const server = createServer((req, res) => {
    forward(req, res).catch((error: unknown) => {
      console.error('tampering proxy failed', error);
      if (!res.headersSent) res.writeHead(502);
      res.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://localhost:${port}`,
    seen,
    count: (method, path) => seen.filter((r) => r.method === method && r.path.split('?')[0] === path).length,
    target: (url) => {
      upstream = url;
    },
    tamper: (rule) => {
      rules.push(rule);
      return () => {
        rules = rules.filter((r) => r !== rule);
      };
    },
    reset: () => {
      rules = [];
    },
    close: async () => {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      await agent.close();
    },
  };
}

/** A rule that rewrites the JSON body of the responses to `method path` (and, optionally, only some of those requests). */
export function rewriteJson(
  method: string,
  path: string,
  change: (json: Record<string, unknown>, request: SeenRequest) => unknown,
  when: (request: SeenRequest) => boolean = () => true,
): TamperRule {
  return {
    match: (request, response) =>
      request.method === method && request.path.split('?')[0] === path && response.status === 200 && when(request),
    rewrite: async (response, request) => {
      const json = JSON.parse(response.body.toString('utf8')) as Record<string, unknown>;
      return { ...response, body: Buffer.from(JSON.stringify(await change(json, request))) };
    },
  };
}

/** A rule that rewrites where the provider redirects the browser, for redirects to URLs starting with `prefix`. */
export function rewriteRedirect(prefix: string, change: (location: URL) => URL | Promise<URL>): TamperRule {
  const locationOf = (response: ProxiedResponse) => {
    const location = response.headers.location;
    return typeof location === 'string' ? location : undefined;
  };
  return {
    match: (_request, response) =>
      response.status >= 300 && response.status < 400 && (locationOf(response)?.startsWith(prefix) ?? false),
    rewrite: async (response) => ({
      ...response,
      headers: { ...response.headers, location: (await change(new URL(locationOf(response)!))).href },
    }),
  };
}

/** Whether a token-endpoint request is for this grant type. */
export function grantType(type: string): (request: SeenRequest) => boolean {
  return (request) => new URLSearchParams(request.body).get('grant_type') === type;
}
