/**
 * The request and reply of http/exchange.ts over web-standard `Request` and `Response`, for the
 * fetch runtimes (Cloudflare Workers, AWS Lambda). Cookies are parsed and written by `cookie`, the
 * library Fastify's cookie plugin uses on Node, so both runtimes read and write them alike.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { parseCookie, stringifySetCookie } from 'cookie';
import type { CookieOptions, HttpReply, HttpRequest, Log } from '../http/exchange.js';

type HeaderValue = string | number | readonly string[];
type Body = ConstructorParameters<typeof Response>[0];

export class WebRequest implements HttpRequest {
  readonly id = crypto.randomUUID();
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingHttpHeaders = {};
  readonly cookies: Record<string, string | undefined>;
  body: unknown;
  params: Record<string, string> = {};
  readonly #parentLog: Log;
  #log: Log | undefined;

  constructor(
    /** The request as the runtime delivered it (its body streams from here). */
    readonly raw: Request,
    readonly ip: string,
    log: Log,
    /** The target as the client sent it, where the platform passes it on; else as the runtime parsed it. */
    target?: string,
  ) {
    this.method = raw.method;
    const url = new URL(raw.url);
    this.url = target ?? url.pathname + url.search;
    raw.headers.forEach((value, name) => {
      this.headers[name] = value;
    });
    this.cookies = this.headers.cookie ? parseCookie(this.headers.cookie) : {};
    this.#parentLog = log;
  }

  /** The request's logger, made when first used: most requests log nothing. */
  get log(): Log {
    this.#log ??= childLog(this.#parentLog, { reqId: this.id });
    return this.#log;
  }
}

export class WebReply implements HttpReply {
  statusCode = 200;
  /** The endpoint answers a navigation's errors with a page (set by the router). */
  htmlErrors = false;
  readonly #headers = new Map<string, string | string[]>();
  readonly #cookies: string[] = [];
  #payload: unknown;
  #sent = false;

  constructor(readonly request: WebRequest) {}

  get log(): Log {
    return this.request.log;
  }

  get sent(): boolean {
    return this.#sent;
  }

  code(status: number): this {
    this.statusCode = status;
    return this;
  }

  header(name: string, value: HeaderValue): this {
    const key = name.toLowerCase();
    if (key === 'set-cookie') {
      for (const line of typeof value === 'object' ? value : [String(value)]) this.#cookies.push(line);
      return this;
    }
    this.#headers.set(key, typeof value === 'object' ? [...value] : String(value));
    return this;
  }

  headers(values: Record<string, HeaderValue | undefined>): this {
    for (const [name, value] of Object.entries(values)) if (value !== undefined) this.header(name, value);
    return this;
  }

  getHeader(name: string): HeaderValue | undefined {
    return this.#headers.get(name.toLowerCase());
  }

  type(contentType: string): this {
    return this.header('content-type', contentType);
  }

  setCookie(name: string, value: string, options: CookieOptions): this {
    this.#cookies.push(stringifySetCookie({ name, value, ...options }));
    return this;
  }

  redirect(url: string, status: number): this {
    this.code(status).header('location', url);
    return this.send();
  }

  /** As Fastify: a string as text, a stream or bytes as they are, anything else as JSON. */
  send(payload?: unknown): this {
    this.#payload = payload;
    this.#sent = true;
    return this;
  }

  toResponse(): Response {
    const headers = new Headers();
    for (const [name, value] of this.#headers) {
      for (const item of typeof value === 'string' ? [value] : value) headers.append(name, item);
    }
    for (const cookie of this.#cookies) headers.append('set-cookie', cookie);
    const body = this.#body(headers);
    const empty = this.request.method === 'HEAD' || [204, 304].includes(this.statusCode);
    return new Response(empty ? null : body, { status: this.statusCode, headers });
  }

  #body(headers: Headers): Body {
    const payload = this.#payload;
    if (payload === undefined || payload === null) return null;
    if (payload instanceof ReadableStream || payload instanceof Uint8Array) return payload as Body;
    if (typeof payload === 'string') {
      if (!headers.has('content-type')) headers.set('content-type', 'text/plain; charset=utf-8');
      return payload;
    }
    if (!headers.has('content-type')) headers.set('content-type', 'application/json; charset=utf-8');
    return JSON.stringify(payload);
  }
}

/** A logger whose lines carry `bindings` too. */
export function childLog(log: Log, bindings: object): Log {
  const bound =
    (level: keyof Log) =>
    (first: object | string, message?: string): void =>
      typeof first === 'string' ? log[level]({ ...bindings }, first) : log[level]({ ...bindings, ...first }, message);
  return { debug: bound('debug'), info: bound('info'), warn: bound('warn'), error: bound('error') };
}
