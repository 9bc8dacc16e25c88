/**
 * One upstream: a keep-alive undici Pool, and the streaming exchange of one request. Bodies are
 * never buffered or re-encoded: the browser's body streams into the upstream request and the
 * upstream's body streams back (server-sent events arrive event by event).
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Transform, type Readable } from 'node:stream';
import type { IncomingHttpHeaders } from 'node:http';
import { Pool, type Dispatcher } from 'undici';
import { GatehouseError } from '../errors.js';
import type { TlsConnectOptions } from '../keys/tls-material.js';
import { asksForNonce } from '../tokens/dpop.js';
import type { Credential } from '../tokens/token-manager.js';
import { Relay, type RelayOptions } from './relay.js';

export interface ForwardRequest {
  method: string;
  /** Path and query on the upstream, e.g. "/orders/42?x=1". */
  path: string;
  headers: Record<string, string | string[]>;
}

const TIMEOUT_CODES = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'UND_ERR_CONNECT_TIMEOUT']);
const CLIENT_BODY_CODES = new Set(['UND_ERR_REQ_CONTENT_LENGTH_MISMATCH']);

/** An upstream's answer: its status, and its headers (for the caller to decide on a retry). */
export interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
}

export class Upstream {
  readonly basePath: string;
  readonly origin: string;
  readonly #pool: Pool;
  readonly #timeoutMs: number;
  readonly #maxBodySize: number;
  /** The nonce this upstream last asked DPoP proofs to carry (RFC 9449 §9). */
  #dpopNonce: string | undefined;

  /** `tls`: extra CAs, and the client certificate for mTLS-bound tokens. */
  constructor(baseUrl: string, timeoutMs: number, maxBodySize: number, tls?: TlsConnectOptions) {
    this.#maxBodySize = maxBodySize;
    const url = new URL(baseUrl);
    this.basePath = url.pathname.replace(/\/$/, '');
    this.origin = url.origin;
    this.#timeoutMs = timeoutMs;
    this.#pool = new Pool(url.origin, {
      connect: { timeout: Math.min(timeoutMs, 10_000), ...tls },
      keepAliveTimeout: 30_000,
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
    });
  }

  /**
   * Sets the credential on a request to this upstream: `Bearer` at once, or for a DPoP-bound token
   * `DPoP` with a fresh proof for exactly this method and URL (and the upstream's latest nonce),
   * whose signature is a promise to await.
   */
  authorize(forward: ForwardRequest, credential: Credential | undefined): Promise<void> | undefined {
    if (!credential) return undefined;
    const { accessToken } = credential.token;
    // token_type is case-insensitive (RFC 6749 §5.1); send the canonical scheme.
    if (!credential.dpop) {
      forward.headers.authorization = `Bearer ${accessToken}`;
      return undefined;
    }
    const queryAt = forward.path.indexOf('?');
    const htu = this.origin + (queryAt === -1 ? forward.path : forward.path.slice(0, queryAt));
    forward.headers.authorization = `DPoP ${accessToken}`;
    return credential.dpop.proof(forward.method, htu, accessToken, this.#dpopNonce).then((proof) => {
      forward.headers.dpop = proof;
    });
  }

  /**
   * Notes the nonce an answer carries (RFC 9449 §9: any answer may bring a new one). True when the
   * answer was a `use_dpop_nonce` challenge, so the call is worth one retry with a new proof.
   */
  tookNonce(answer: Answer): boolean {
    const nonce = answer.headers['dpop-nonce'];
    if (typeof nonce !== 'string') return false;
    this.#dpopNonce = nonce;
    return answer.status === 401 && asksForNonce(answer.headers);
  }

  /** Sends `forward` upstream with the browser's body (if any) and relays the answer (relay.ts); resolves once complete. */
  relay(request: FastifyRequest, reply: FastifyReply, forward: ForwardRequest, options: RelayOptions): Promise<Answer> {
    return new Promise((resolve, reject) => {
      const relay = new Relay(request, reply, options, (error) =>
        error ? reject(upstreamError(error)) : resolve(relay.answer),
      );
      this.#pool.dispatch(
        {
          method: forward.method as Dispatcher.HttpMethod,
          path: forward.path,
          headers: forward.headers,
          body: this.#body(request),
          headersTimeout: this.#timeoutMs,
          bodyTimeout: this.#timeoutMs,
        },
        relay,
      );
    });
  }

  /** A self-contained call (extension endpoints): body in memory, `signal` ends it (timeouts included). */
  async call(forward: ForwardRequest, body: string | undefined, signal: AbortSignal): Promise<Dispatcher.ResponseData> {
    try {
      return await this.#pool.request({
        method: forward.method as Dispatcher.HttpMethod,
        path: forward.path,
        headers: forward.headers,
        body,
        signal,
      });
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

/** Whether the browser sent a body; a request without one can be replayed (e.g. after a token refresh). */
export function hasBody(request: FastifyRequest): boolean {
  const length = request.headers['content-length'];
  return (length !== undefined && length !== '0') || request.headers['transfer-encoding'] !== undefined;
}

/** Upstream failures as the browser sees them: no address, no stack, just what kind of failure. */
export function upstreamError(error: unknown): GatehouseError {
  if (error instanceof BodyTooLarge || (error as { cause?: unknown }).cause instanceof BodyTooLarge) {
    return new GatehouseError('payload_too_large', { cause: error, detail: 'chunked body over the route limit' });
  }
  const code = (error as { code?: string }).code ?? '';
  if (TIMEOUT_CODES.has(code)) return new GatehouseError('upstream_timeout', { cause: error, detail: code });
  if (CLIENT_BODY_CODES.has(code)) return new GatehouseError('invalid_request', { cause: error, detail: code });
  return new GatehouseError('upstream_unavailable', { cause: error, detail: code || String(error) });
}

class BodyTooLarge extends Error {}
