/**
 * The fetch runtimes' transport: each upstream call is a fetch() with the browser's body streamed
 * into it (cut off past the route's limit) and the upstream's body streamed back as the response
 * body. The deadline (routes[].timeout) runs until the upstream's headers arrive; after that the
 * answer streams for as long as the platform lets a response run (docs/deploy-cloudflare.md,
 * docs/deploy-lambda.md).
 */
import type { IncomingHttpHeaders } from 'node:http';
import { GatehouseError } from '../errors.js';
import type { HttpReply, HttpRequest } from '../http/exchange.js';
import type { GatehouseConfig } from '../config/load.js';
import type { TlsFetchFactory } from '../oidc/client-identity.js';
import { browserResponseHeaders } from '../proxy/headers.js';
import { upstreamTls } from '../proxy/upstream-tls.js';
import {
  BodyTooLarge,
  hasBody,
  upstreamError,
  type Answer,
  type CallAnswer,
  type ForwardRequest,
  type RelayOptions,
  type TransportFactory,
  type UpstreamTransport,
} from '../proxy/transport.js';
import { chunksOf } from './chunks.js';
import type { WebRequest } from './exchange.js';

/** Request headers fetch() manages itself. */
const FETCH_MANAGED = new Set(['expect', 'content-length']);

export interface FetchTransportOptions {
  /**
   * Connections with extra CAs or the client certificate tokens are bound to, where the runtime can
   * make them (Lambda: undici); Workers have none, and the configuration refuses what needs them.
   */
  tls?: { config: GatehouseConfig; tlsFetch: TlsFetchFactory };
  /**
   * The platform cancels a request's fetches when the browser goes away (Workers), so relayed calls
   * pass no signal of their own (a signal costs a Worker about 6% of its throughput) and time out
   * by a race instead.
   */
  platformCancels?: boolean;
}

/** Upstreams reached with fetch(). */
export function fetchTransports(options: FetchTransportOptions = {}): TransportFactory {
  const { tls, platformCancels = false } = options;
  return (target) => {
    const settings = tls && upstreamTls(tls.config, target.settings, target.path);
    return new FetchTransport(target.url, target.timeoutMs, target.maxBodySize, {
      connection: settings && tls.tlsFetch(settings),
      platformCancels,
    });
  };
}

export class FetchTransport implements UpstreamTransport {
  readonly #origin: string;
  readonly #connection: ReturnType<TlsFetchFactory> | undefined;
  readonly #platformCancels: boolean;

  constructor(
    baseUrl: string,
    private readonly timeoutMs: number,
    private readonly maxBodySize: number,
    /** A connection of its own (TLS settings; default: the runtime's fetch()), and whether the platform cancels. */
    options: { connection?: ReturnType<TlsFetchFactory>; platformCancels?: boolean } = {},
  ) {
    this.#origin = new URL(baseUrl).origin;
    this.#connection = options.connection;
    this.#platformCancels = options.platformCancels ?? false;
  }

  async relay(request: HttpRequest, reply: HttpReply, forward: ForwardRequest, options: RelayOptions): Promise<Answer> {
    const raw = (request as WebRequest).raw;
    const body = hasBody(request) && raw.body ? limited(raw.body, this.maxBodySize) : undefined;
    const response = await this.#fetch(forward, body, this.#platformCancels ? undefined : raw.signal);
    const answer = { status: response.status, headers: incomingHeaders(response.headers) };
    if (options.holdBack(response.status)) {
      await response.body?.cancel();
      return answer;
    }
    reply.code(response.status);
    reply.headers(browserResponseHeaders(answer.headers));
    reply.send(response.body ?? undefined);
    return answer;
  }

  async call(forward: ForwardRequest, body: string | undefined, signal: AbortSignal): Promise<CallAnswer> {
    const response = await this.#fetch(forward, body, signal);
    const stream = response.body;
    return {
      status: response.status,
      headers: incomingHeaders(response.headers),
      body: stream ? chunksOf(stream) : (async function* () {})(),
      discard: () => void stream?.cancel(),
    };
  }

  async close(): Promise<void> {
    await this.#connection?.close();
  }

  /**
   * One fetch: the deadline holds until the headers are in; `signal` (the browser leaving, a
   * caller's) ends it too. Without a signal, the deadline is a race and a late answer is discarded.
   */
  async #fetch(forward: ForwardRequest, body: ReadableStream | string | undefined, signal: AbortSignal | undefined) {
    const headers = new Headers();
    for (const [name, value] of Object.entries(forward.headers)) {
      if (FETCH_MANAGED.has(name)) continue;
      for (const item of typeof value === 'string' ? [value] : value) headers.append(name, item);
    }
    const init = {
      method: forward.method,
      headers,
      body,
      redirect: 'manual',
      ...(body instanceof ReadableStream && { duplex: 'half' }),
    } as RequestInit;
    const fetchImpl = this.#connection?.fetch ?? fetch;
    const url = this.#origin + forward.path;
    const timedOut = () => new GatehouseError('upstream_timeout', { detail: 'no answer in time' });
    let timer: ReturnType<typeof setTimeout> | undefined;
    if (signal) {
      const deadline = new AbortController();
      timer = setTimeout(() => deadline.abort(timedOut()), this.timeoutMs);
      try {
        return await fetchImpl(url, { ...init, signal: AbortSignal.any([deadline.signal, signal]) });
      } catch (error) {
        throw upstreamError(deadline.signal.aborted ? deadline.signal.reason : error);
      } finally {
        clearTimeout(timer);
      }
    }
    const pending = fetchImpl(url, init);
    const expired = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(timedOut()), this.timeoutMs);
    });
    try {
      return await Promise.race([pending, expired]);
    } catch (error) {
      pending.then(
        (response) => response.body?.cancel(),
        () => {},
      );
      throw upstreamError(error);
    } finally {
      clearTimeout(timer);
    }
  }
}

/** fetch() hands over bodies decoded: their encoding and length no longer apply. */
function incomingHeaders(headers: Headers): IncomingHttpHeaders {
  const out: IncomingHttpHeaders = {};
  const decoded = headers.has('content-encoding');
  headers.forEach((value, name) => {
    if (decoded && (name === 'content-encoding' || name === 'content-length')) return;
    if (name !== 'set-cookie') out[name] = value;
  });
  const cookies = headers.getSetCookie();
  if (cookies.length > 0) out['set-cookie'] = cookies;
  return out;
}

/** The browser's body, failing past `max` bytes (a chunked body has no length to check up front). */
function limited(body: ReadableStream<Uint8Array>, max: number): ReadableStream<Uint8Array> {
  let seen = 0;
  return body.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        seen += chunk.length;
        if (seen > max) controller.error(new BodyTooLarge());
        else controller.enqueue(chunk);
      },
    }),
  );
}
