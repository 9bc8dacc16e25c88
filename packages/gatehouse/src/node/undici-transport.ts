/**
 * The Node transport: a keep-alive undici Pool per upstream, and the streaming exchange of one
 * request. Bodies are never buffered or re-encoded: the browser's body streams into the upstream
 * request and the upstream's body streams back (server-sent events arrive event by event).
 */
import { Transform, type Readable } from 'node:stream';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Pool, type Dispatcher } from 'undici';
import type { GatehouseConfig } from '../config/load.js';
import type { HttpReply, HttpRequest } from '../http/exchange.js';
import type { TlsConnectOptions } from '../keys/tls-material.js';
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
import { upstreamTls } from '../proxy/upstream-tls.js';
import { Relay } from './relay.js';

/** Transports for `config`'s upstreams, with the TLS each needs. */
export function undiciTransports(config: GatehouseConfig): TransportFactory {
  return (target) =>
    new UndiciTransport(
      target.url,
      target.timeoutMs,
      target.maxBodySize,
      upstreamTls(config, target.settings, target.path),
    );
}

export class UndiciTransport implements UpstreamTransport {
  readonly #pool: Pool;
  readonly #timeoutMs: number;
  readonly #maxBodySize: number;

  /** `tls`: extra CAs, and the client certificate for mTLS-bound tokens. */
  constructor(baseUrl: string, timeoutMs: number, maxBodySize: number, tls?: TlsConnectOptions) {
    this.#maxBodySize = maxBodySize;
    this.#timeoutMs = timeoutMs;
    this.#pool = new Pool(new URL(baseUrl).origin, {
      connect: { timeout: Math.min(timeoutMs, 10_000), ...tls },
      keepAliveTimeout: 30_000,
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
    });
  }

  /** Streams the request and relays the answer (relay.ts); resolves once complete. On Node the exchange is Fastify's. */
  relay(request: HttpRequest, reply: HttpReply, forward: ForwardRequest, options: RelayOptions): Promise<Answer> {
    const fastifyRequest = request as FastifyRequest;
    return new Promise((resolve, reject) => {
      const relay = new Relay(fastifyRequest, reply as FastifyReply, options, (error) =>
        error ? reject(upstreamError(error)) : resolve(relay.answer),
      );
      this.#pool.dispatch(
        {
          method: forward.method as Dispatcher.HttpMethod,
          path: forward.path,
          headers: forward.headers,
          body: this.#body(fastifyRequest),
          headersTimeout: this.#timeoutMs,
          bodyTimeout: this.#timeoutMs,
        },
        relay,
      );
    });
  }

  async call(forward: ForwardRequest, body: string | undefined, signal: AbortSignal): Promise<CallAnswer> {
    try {
      const response = await this.#pool.request({
        method: forward.method as Dispatcher.HttpMethod,
        path: forward.path,
        headers: forward.headers,
        body,
        signal,
      });
      return {
        status: response.statusCode,
        headers: response.headers,
        body: response.body,
        discard: () => response.body.destroy(),
      };
    } catch (error) {
      throw upstreamError(error);
    }
  }

  /**
   * The browser's body as it streams in. With Content-Length the handler has already checked the
   * size (and undici holds the stream to it); a chunked body is counted on the way and cut off
   * past the route's limit.
   */
  #body(request: FastifyRequest): Readable | null {
    if (!hasBody(request)) return null;
    if (request.headers['content-length'] !== undefined) return request.raw;
    let seen = 0;
    const max = this.#maxBodySize;
    return request.raw.pipe(
      new Transform({
        transform(chunk: Buffer, _encoding, done) {
          seen += chunk.length;
          done(seen > max ? new BodyTooLarge() : null, chunk);
        },
      }),
    );
  }

  /** The upstream half of a WebSocket handshake; resolves with the upstream's 101 headers and its socket. */
  async upgrade(forward: ForwardRequest): Promise<Dispatcher.UpgradeData> {
    try {
      return await this.#pool.upgrade({
        path: forward.path,
        method: 'GET',
        headers: forward.headers,
        protocol: 'websocket',
      });
    } catch (error) {
      throw upstreamError(error);
    }
  }

  close(): Promise<void> {
    return this.#pool.close();
  }
}
