/**
 * The Router of http/router.ts for the fetch runtimes: exact paths, then paths with ":name"
 * segments, then "/*" prefixes, in the order Fastify matches them on Node, and the bodies endpoints declare read as Fastify's parsers would (forms as
 * text within their limit, JSON within server.bodyLimit, anything else left unread).
 */
import { GatehouseError } from '../errors.js';
import type { EndpointOptions, Handler, Router } from '../http/router.js';
import { readAll } from './chunks.js';
import type { WebReply, WebRequest } from './exchange.js';

interface Endpoint {
  handler: Handler;
  options: EndpointOptions;
}

type ByMethod = Map<string, Endpoint>;

/** A path with ":name" segments: its pattern and the parameter names, in order. */
interface Parametric {
  pattern: RegExp;
  names: string[];
  byMethod: ByMethod;
}

export class WebRouter implements Router {
  readonly #exact = new Map<string, ByMethod>();
  readonly #parametric = new Map<string, Parametric>();
  /** Prefixes ("/api/orders/" for "/api/orders/*"), longest first. */
  #prefixes: [string, ByMethod][] = [];

  constructor(private readonly jsonLimit: number) {}

  route(methods: string | readonly string[], path: string, handler: Handler, options: EndpointOptions = {}): void {
    let byMethod: ByMethod | undefined;
    if (path.endsWith('/*')) {
      const prefix = path.slice(0, -1);
      byMethod = this.#prefixes.find(([p]) => p === prefix)?.[1];
      if (!byMethod) {
        byMethod = new Map();
        this.#prefixes.push([prefix, byMethod]);
        this.#prefixes.sort(([a], [b]) => b.length - a.length);
      }
    } else if (path.includes('/:')) {
      const names: string[] = [];
      const source = path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace(/\/:([A-Za-z][A-Za-z0-9_]*)/g, (_, name) => {
        names.push(name as string);
        return '/([^/]+)';
      });
      const known = this.#parametric.get(path) ?? { pattern: new RegExp(`^${source}$`), names, byMethod: new Map() };
      this.#parametric.set(path, known);
      byMethod = known.byMethod;
    } else {
      byMethod = this.#exact.get(path) ?? new Map();
      this.#exact.set(path, byMethod);
    }
    for (const method of typeof methods === 'string' ? [methods] : methods) byMethod.set(method, { handler, options });
  }

  /** Runs the endpoint for `request`; false when no endpoint serves its path and method. */
  async handle(request: WebRequest, reply: WebReply): Promise<boolean> {
    const endpoint = this.#find(request, request.url.split('?', 1)[0]!);
    if (!endpoint) return false;
    reply.htmlErrors = endpoint.options.htmlErrors === true;
    if (endpoint.options.body) request.body = await this.#body(request, endpoint.options.body);
    const result = await endpoint.handler(request, reply);
    if (!reply.sent) reply.send(result === reply ? undefined : result);
    return true;
  }

  #find(request: WebRequest, path: string): Endpoint | undefined {
    const method = request.method;
    const exact = this.#exact.get(path)?.get(method);
    if (exact) return exact;
    for (const { pattern, names, byMethod } of this.#parametric.values()) {
      const match = pattern.exec(path);
      if (!match) continue;
      request.params = Object.fromEntries(names.map((name, i) => [name, decodeSegment(match[i + 1]!)]));
      return byMethod.get(method);
    }
    for (const [prefix, byMethod] of this.#prefixes) {
      if (path.startsWith(prefix)) return byMethod.get(method);
    }
    return undefined;
  }

  async #body(request: WebRequest, body: NonNullable<EndpointOptions['body']>): Promise<unknown> {
    if (body.kind === 'stream' || !request.raw.body) return undefined;
    const type = (request.headers['content-type'] ?? '').split(';', 1)[0]!.trim().toLowerCase();
    if (body.kind === 'json') {
      if (type === 'application/json') {
        const text = await readText(request.raw, this.jsonLimit);
        try {
          return text === '' ? undefined : (JSON.parse(text) as unknown);
        } catch (cause) {
          throw new GatehouseError('invalid_request', { cause, detail: 'invalid JSON body' });
        }
      }
      if (type === 'text/plain') return readText(request.raw, this.jsonLimit);
      throw new GatehouseError('unsupported_media_type', { detail: `content-type ${type}` });
    }
    if (type !== 'application/x-www-form-urlencoded') return undefined;
    const text = await readText(request.raw, body.limit);
    return body.kind === 'form' ? text : new URLSearchParams(text);
  }
}

/** A path parameter decoded as Fastify decodes it; a malformed escape is the client's error. */
function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch (cause) {
    throw new GatehouseError('invalid_path', { cause, detail: 'malformed percent-encoding in a parameter' });
  }
}

/** The whole body as text, refused past `limit` bytes (as it arrives, not only by Content-Length). */
async function readText(request: Request, limit: number): Promise<string> {
  const declared = Number(request.headers.get('content-length') ?? 0);
  if (declared > limit) throw new GatehouseError('payload_too_large', { detail: `content-length ${declared}` });
  const bytes = await readAll(
    request.body!,
    limit,
    () => new GatehouseError('payload_too_large', { detail: `body over ${limit} bytes` }),
  );
  return new TextDecoder().decode(bytes);
}
