/**
 * The upstream clients extension handlers call: JSON in and out, the right token attached and
 * renewed like on proxied routes, every call with its own deadline, bounded response sizes, and
 * upstream failures turned into GatehouseErrors that leak nothing about the upstream.
 */
import type { GatehouseConfig } from '../config/load.js';
import { parseDuration } from '../config/duration.js';
import { GatehouseError } from '../errors.js';
import type { Tracing } from '../ops/tracing.js';
import { checkedRestPath } from '../proxy/path.js';
import type { HttpRequest } from '../http/exchange.js';
import type { CallAnswer, ForwardRequest, TransportFactory } from '../proxy/transport.js';
import { stepUpChallenge } from '../proxy/step-up-challenge.js';
import { Upstream } from '../proxy/upstream.js';
import type { ActiveSession } from '../session/session-manager.js';
import type { TokenManager } from '../tokens/token-manager.js';
import type { UpstreamCallOptions, UpstreamClient, UpstreamResponse } from './types.js';

type UpstreamConfig = GatehouseConfig['upstreams'][string];

/** A non-2xx answer where the handler asked for success (UpstreamClient.get). */
export class UpstreamStatusError extends GatehouseError {
  constructor(
    /** The status the upstream answered with; the browser sees 502 `upstream_error`. */
    readonly upstreamStatus: number,
    detail: string,
  ) {
    super('upstream_error', { detail });
    this.name = 'UpstreamStatusError';
  }
}

/** What one request's clients share. */
export interface CallScope {
  request: HttpRequest;
  session: ActiveSession | undefined;
  signal: AbortSignal;
}

/** One configured upstream: its connection pool, and clients bound to single requests. */
export class NamedUpstream {
  readonly #upstream: Upstream;
  readonly #target: string;

  constructor(
    readonly name: string,
    private readonly upstreamConfig: UpstreamConfig,
    private readonly tokens: TokenManager,
    private readonly tracing: Tracing | undefined,
    connect: TransportFactory,
  ) {
    const transport = connect({
      url: upstreamConfig.url,
      timeoutMs: upstreamConfig.timeout,
      maxBodySize: 0,
      settings: upstreamConfig,
      path: `upstreams.${name}`,
    });
    this.#upstream = new Upstream(upstreamConfig.url, transport);
    this.#target = new URL(upstreamConfig.url).host;
  }

  clientFor(scope: CallScope): UpstreamClient {
    return {
      request: (path, options) => this.#request(scope, path, options),
      get: async <T>(path: string, options?: Omit<UpstreamCallOptions, 'method' | 'body'>) => {
        const response = await this.#request<T>(scope, path, options);
        if (response.status >= 200 && response.status < 300) return response.body;
        throw new UpstreamStatusError(response.status, `${this.name}: GET ${path} answered ${response.status}`);
      },
    };
  }

  close(): Promise<void> {
    return this.#upstream.close();
  }

  async #request<T>(scope: CallScope, path: string, options: UpstreamCallOptions = {}): Promise<UpstreamResponse<T>> {
    const forward: ForwardRequest = {
      method: options.method ?? 'GET',
      path: this.#path(path, options.query),
      headers: {
        ...options.headers,
        accept: 'application/json',
        'x-request-id': scope.request.id,
        ...(options.body === undefined ? {} : { 'content-type': 'application/json' }),
      },
    };
    const body = options.body === undefined ? undefined : JSON.stringify(options.body);
    const timeoutMs = callTimeout(options.timeout, this.upstreamConfig.timeout);
    const deadline = AbortSignal.timeout(timeoutMs);
    const signal = AbortSignal.any([options.signal ?? scope.signal, deadline]);
    try {
      const credential = await this.tokens.credentialFor(this.upstreamConfig, scope.session);
      const send = async (presented: typeof credential) => {
        await this.#upstream.authorize(forward, presented);
        const answer = await this.#exchange(scope.request, forward, body, signal);
        // A DPoP upstream may hand out a new nonce with any answer, or demand one with a 401: then
        // the same call goes again, once, with a proof carrying it.
        if (presented?.dpop && this.#upstream.tookNonce(answer)) {
          await this.#upstream.authorize(forward, presented);
          return this.#exchange(scope.request, forward, body, signal);
        }
        return answer;
      };
      let response = await send(credential);
      if (response.status === 401 && credential) {
        // The sign-in, not the token, is too weak or too old (RFC 9470): as on proxied routes.
        const stepUp = stepUpChallenge(response.headers);
        if (stepUp) throw stepUp;
        // Refused token: renew once and retry once, as proxied routes do (the body is in memory).
        const renewed = await this.tokens.renew(this.upstreamConfig, scope.session, credential);
        if (renewed) response = await send(renewed);
        if (response.status === 401) {
          throw new GatehouseError('upstream_unauthorized', { detail: `${this.name} refused the token` });
        }
      }
      return response as UpstreamResponse<T>;
    } catch (error) {
      if (deadline.aborted) {
        throw new GatehouseError('upstream_timeout', { detail: `${this.name}: no answer within ${timeoutMs} ms` });
      }
      throw error;
    }
  }

  async #exchange(
    request: HttpRequest,
    forward: ForwardRequest,
    body: string | undefined,
    signal: AbortSignal,
  ): Promise<UpstreamResponse> {
    const end = this.tracing?.upstreamCall(request, forward.headers, this.#target, forward.method);
    try {
      const response = await this.#upstream.transport.call(forward, body, signal);
      const parsed = {
        status: response.status,
        headers: response.headers,
        body: await this.#readBody(response, `${forward.method} ${forward.path}`),
      };
      end?.(response.status);
      return parsed;
    } catch (error) {
      end?.(error as Error);
      throw error;
    }
  }

  /** The upstream path: checked like a proxied path, query merged in. */
  #path(path: string, query: UpstreamCallOptions['query']): string {
    const queryAt = path.indexOf('?');
    const bare = queryAt === -1 ? path : path.slice(0, queryAt);
    if (!bare.startsWith('/')) throw new TypeError(`upstream path must start with "/": ${bare}`);
    const params = new URLSearchParams(queryAt === -1 ? '' : path.slice(queryAt + 1));
    for (const [name, value] of Object.entries(query ?? {})) {
      if (value === undefined) continue;
      for (const item of Array.isArray(value) ? value : [value]) params.append(name, String(item));
    }
    const search = params.size > 0 ? `?${params}` : '';
    return `${this.#upstream.basePath}${checkedRestPath(bare)}${search}`;
  }

  /** The body, read up to maxResponseSize: JSON parsed when the upstream said JSON. */
  async #readBody(response: CallAnswer, what: string): Promise<unknown> {
    const limit = this.upstreamConfig.maxResponseSize;
    const chunks: Uint8Array[] = [];
    let size = 0;
    for await (const chunk of response.body) {
      size += chunk.length;
      if (size > limit) {
        response.discard();
        throw new GatehouseError('upstream_error', {
          detail: `${this.name}: ${what} answered more than ${limit} bytes`,
        });
      }
      chunks.push(chunk);
    }
    if (size === 0) return undefined;
    const text = Buffer.concat(chunks).toString('utf8');
    const type = String(response.headers['content-type'] ?? '');
    if (!/[/+]json\b/i.test(type)) return text;
    try {
      return JSON.parse(text) as unknown;
    } catch {
      throw new GatehouseError('upstream_error', { detail: `${this.name}: ${what} answered invalid JSON` });
    }
  }
}

function callTimeout(requested: number | string | undefined, fallbackMs: number): number {
  if (requested === undefined) return fallbackMs;
  const ms = typeof requested === 'number' ? requested : parseDuration(requested);
  if (!Number.isFinite(ms) || ms <= 0) throw new TypeError(`not a timeout: ${requested}`);
  return ms;
}
