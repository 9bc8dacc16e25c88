/**
 * The request and reply Gatehouse's endpoints and checks are written against, whatever runtime
 * serves them: on Node, Fastify's request and reply satisfy these as they are; on the fetch-based
 * runtimes (Cloudflare Workers, AWS Lambda), web/exchange.ts builds them from a web `Request` and
 * turns the reply into a `Response`. One set of endpoints and checks, run by every runtime.
 *
 * Only what the endpoints use, so that a second implementation stays small.
 */
import type { IncomingHttpHeaders } from 'node:http';

/** The logger calls the endpoints make (pino's signature: bindings, then the message; or the message alone). */
type LogCall = (bindings: object | string, message?: string) => void;
export interface Log {
  debug: LogCall;
  info: LogCall;
  warn: LogCall;
  error: LogCall;
}

/** What a cookie is set with (the attributes Gatehouse uses). */
export interface CookieOptions {
  path?: string;
  domain?: string;
  httpOnly?: boolean;
  secure?: boolean;
  sameSite?: 'strict' | 'lax' | 'none' | boolean;
  maxAge?: number;
  expires?: Date;
  partitioned?: boolean;
}

export interface HttpRequest {
  /** A unique id for logs and upstreams (X-Request-Id). */
  readonly id: string;
  readonly method: string;
  /** The request target exactly as sent: path and query, never normalised. */
  readonly url: string;
  /** Header names in lower case. */
  readonly headers: IncomingHttpHeaders;
  readonly cookies: Record<string, string | undefined>;
  /** The client's address, after the configured trusted proxies. */
  readonly ip: string;
  /** The parsed body, on endpoints that declare one (a form_post callback's text, an extension's JSON). */
  readonly body?: unknown;
  /** Path parameters, on endpoints declared with ":name" segments. */
  readonly params?: unknown;
  readonly log: Log;
}

type HeaderValue = string | number | readonly string[];

export interface HttpReply {
  readonly request: HttpRequest;
  readonly log: Log;
  /** Whether the answer has been sent (or begun streaming). */
  readonly sent: boolean;
  statusCode: number;
  code(status: number): unknown;
  header(name: string, value: HeaderValue): unknown;
  headers(values: Record<string, HeaderValue | undefined>): unknown;
  getHeader(name: string): HeaderValue | undefined;
  type(contentType: string): unknown;
  setCookie(name: string, value: string, options: CookieOptions): unknown;
  redirect(url: string, status: number): unknown;
  send(payload?: unknown): unknown;
}

/** The raw query string (without "?"), exactly as the browser sent it. */
export function rawQuery(request: Pick<HttpRequest, 'url'>): string {
  const index = request.url.indexOf('?');
  return index === -1 ? '' : request.url.slice(index + 1);
}

/** `no-store` for answers that carry a user's data or a one-time value. */
export function noStore(reply: HttpReply): void {
  reply.headers({ 'cache-control': 'no-store', pragma: 'no-cache' });
}

/**
 * Whether the answer has begun, so headers can no longer be added. On Node a relayed upstream
 * answer is written straight to the socket, past Fastify's `sent`.
 */
export function answerBegun(reply: HttpReply): boolean {
  return reply.sent || (reply as { raw?: { headersSent?: boolean } }).raw?.headersSent === true;
}
