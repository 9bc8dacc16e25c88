/**
 * The extension API: endpoints written in TypeScript that run inside Gatehouse, next to the proxied
 * routes, for what a plain proxy cannot do: compose several upstream calls into the one response a
 * screen needs, shape payloads per client, and check access to individual objects.
 *
 * @example
 * ```ts
 * export default defineExtension({
 *   name: 'dashboard',
 *   upstreams: ['orders', 'profile'],
 *   endpoints: [{ path: '/dashboard', handler: async ({ upstreams }) => upstreams.profile.get('/me') }],
 * });
 * ```
 */
import type { AccessRule } from '../config/schema.js';
import type { HttpReply, HttpRequest, Log } from '../http/exchange.js';
import type { User } from '../security/authorization.js';
import type { View } from './views.js';

export type EndpointMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/** What a handler receives: the request, the signed-in user, and clients for the declared upstreams. */
export interface EndpointContext<U extends string = string, Anonymous extends boolean = false> {
  /** The request (on Node, Fastify's; on Workers and Lambda, the same members over the web Request). */
  readonly request: HttpRequest;
  /** Set a status (reply.code(201)) or headers here; the handler's return value is the JSON body. */
  readonly reply: HttpReply;
  /** Path parameters, e.g. { id: "42" } for "/orders/:id". */
  readonly params: Readonly<Record<string, string>>;
  readonly query: Readonly<Record<string, string | string[] | undefined>>;
  /** The parsed JSON body (POST, PUT, PATCH), else undefined. */
  readonly body: unknown;
  /** The signed-in user; undefined only on endpoints declared `session: "optional"`. */
  readonly user: Anonymous extends true ? User | undefined : User;
  /** One client per upstream the extension declared, carrying the user's (or the app's) token. */
  readonly upstreams: { readonly [Name in U]: UpstreamClient };
  /** Aborted when the browser goes away: pass it on to long work of your own. */
  readonly signal: AbortSignal;
  /** The request's logger (request id included; never log tokens). */
  readonly log: Log;
  /**
   * Runs the parts in parallel. A part named in `optional` may fail: its error is reported in
   * `errors` and the others still count. Any other part failing fails the request with its error
   * (and cancels the rest).
   */
  gather<
    Parts extends Record<string, (signal: AbortSignal) => Promise<unknown>>,
    const Optional extends keyof Parts = never,
  >(
    parts: Parts,
    options?: { optional?: readonly Optional[] },
  ): Promise<Gathered<Parts, Optional>>;
  /** Ends the request with 403 `forbidden` (an object-level check failed). The message is shown to the user. */
  forbidden(message?: string): never;
}

export interface Gathered<
  Parts extends Record<string, (signal: AbortSignal) => Promise<unknown>>,
  Optional extends keyof Parts,
> {
  results: { [K in Exclude<keyof Parts, Optional>]: Awaited<ReturnType<Parts[K]>> } & {
    [K in Optional]?: Awaited<ReturnType<Parts[K]>>;
  };
  /** The optional parts that failed, each as the browser may see it: { error, message }. */
  errors: { [K in Optional]?: PartError };
}

export interface PartError {
  error: string;
  message: string;
}

export interface UpstreamCallOptions {
  method?: EndpointMethod;
  /** Added to the path's query string. */
  query?: Readonly<Record<string, string | number | boolean | readonly (string | number)[] | undefined>>;
  /** Sent as JSON. */
  body?: unknown;
  headers?: Readonly<Record<string, string>>;
  /** Time for the whole call, start to last byte: milliseconds or "2s", "500ms". Default: the upstream's timeout. */
  timeout?: number | string;
  /** Ends the call early (default: when the browser goes away). */
  signal?: AbortSignal;
}

export interface UpstreamResponse<T = unknown> {
  status: number;
  headers: Readonly<Record<string, string | string[] | undefined>>;
  /** Parsed JSON when the upstream said JSON, else the text; undefined when empty. */
  body: T;
}

/**
 * Calls one configured upstream with the route-style token attached (refreshed first when needed,
 * and once more after a 401). Paths are checked like proxied paths: no dot segments or encoded
 * slashes, so `/orders/${encodeURIComponent(id)}` cannot escape. Failures throw GatehouseErrors
 * (upstream_timeout, upstream_unavailable, upstream_unauthorized, upstream_error).
 */
export interface UpstreamClient {
  /** Any method; resolves whatever the status. */
  request<T = unknown>(path: string, options?: UpstreamCallOptions): Promise<UpstreamResponse<T>>;
  /** GET expecting a 2xx answer; any other status throws UpstreamStatusError (502 upstream_error). */
  get<T = unknown>(path: string, options?: Omit<UpstreamCallOptions, 'method' | 'body'>): Promise<T>;
}

interface EndpointBase {
  /** Default GET. */
  method?: EndpointMethod;
  /** Under basePath: "/dashboard" serves /api/dashboard. Parameters as ":name". */
  path: string;
  /** Claim rules checked before anything else runs (401 / 403), as for routes[].authorize. */
  authorize?: AccessRule;
  /**
   * Named payload shapes, chosen with ?view=<name> or the X-Client-Type header: each selects and
   * renames fields of the handler's result (e.g. a small "mobile" payload).
   */
  views?: Readonly<Record<string, View>>;
}

/** An endpoint only signed-in users reach (the default). */
export interface SignedInEndpoint<U extends string> extends EndpointBase {
  session?: 'required';
  /** Object-level check before the handler runs: false answers 403 (e.g. params.customerId === user.sub). */
  allow?: (context: EndpointContext<U>) => boolean | Promise<boolean>;
  handler: (context: EndpointContext<U>) => unknown;
}

/** An endpoint anyone may reach; `user` is set when signed in. */
export interface PublicEndpoint<U extends string> extends EndpointBase {
  session: 'optional';
  allow?: (context: EndpointContext<U, true>) => boolean | Promise<boolean>;
  handler: (context: EndpointContext<U, true>) => unknown;
}

export type Endpoint<U extends string = string> = SignedInEndpoint<U> | PublicEndpoint<U>;

export interface Extension<U extends string = string> {
  /** Shown in logs and errors. */
  name: string;
  /** Names of the upstreams its handlers call, each configured under `upstreams`. */
  upstreams?: readonly U[];
  endpoints: readonly Endpoint<U>[];
}

/** Declares an extension, typing `context.upstreams` from the names it lists. */
export function defineExtension<const U extends string = never>(extension: Extension<U>): Extension<U> {
  return extension;
}
