/**
 * How a request reaches an upstream: the part of the proxy that differs between runtimes. On Node,
 * node/undici-transport.ts (a keep-alive undici Pool, streaming both ways with backpressure); on
 * the fetch runtimes, web/fetch-transport.ts (fetch() with streamed bodies). Everything that decides
 * what is sent (path checks, header policy, the credential) is shared and happens before this.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { TokenChoiceConfig } from '../config/schema.js';
import { GatehouseError } from '../errors.js';
import type { HttpReply, HttpRequest } from '../http/exchange.js';

export interface ForwardRequest {
  method: string;
  /** Path and query on the upstream, e.g. "/orders/42?x=1". */
  path: string;
  headers: Record<string, string | string[]>;
}

/** An upstream's answer: its status, and its headers (for the caller to decide on a retry). */
export interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
}

export interface RelayOptions {
  /** True for a status whose answer must not reach the browser (it is drained instead). */
  holdBack: (status: number) => boolean;
  /** Asked when the answer starts: true while shutting down, so the browser's connection closes after it. */
  closing: () => boolean;
}

/** The answer to a self-contained call (extension endpoints): the body still to be read. */
export interface CallAnswer extends Answer {
  body: AsyncIterable<Uint8Array>;
  /** Stops reading the body (too large). */
  discard(): void;
}

export interface UpstreamTransport {
  /**
   * Sends `forward` with the browser's body (if any) and relays the answer into `reply`, unless
   * `options.holdBack` says to keep it back; resolves with the answer's status and headers.
   */
  relay(request: HttpRequest, reply: HttpReply, forward: ForwardRequest, options: RelayOptions): Promise<Answer>;
  /** A self-contained call: body in memory, `signal` ends it (timeouts included). */
  call(forward: ForwardRequest, body: string | undefined, signal: AbortSignal): Promise<CallAnswer>;
  close(): Promise<void>;
}

/** What a transport is made for: one route's or named upstream's base URL and limits. */
export interface TransportTarget {
  url: string;
  timeoutMs: number;
  /** Largest body a browser may stream there; 0 where bodies are only ever in memory. */
  maxBodySize: number;
  /** The route's or upstream's settings that decide its TLS (extra CAs; certificate-bound tokens). */
  settings: { caFile?: string; token: TokenChoiceConfig };
  /** Its configuration key, for messages. */
  path: string;
}

export type TransportFactory = (target: TransportTarget) => UpstreamTransport;

/** Whether the browser sent a body; a request without one can be replayed (e.g. after a token refresh). */
export function hasBody(request: Pick<HttpRequest, 'headers'>): boolean {
  const length = request.headers['content-length'];
  return (length !== undefined && length !== '0') || request.headers['transfer-encoding'] !== undefined;
}

/** A chunked body went past the route's limit on its way upstream. */
export class BodyTooLarge extends Error {}

const TIMEOUT_CODES = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'UND_ERR_CONNECT_TIMEOUT']);
const CLIENT_BODY_CODES = new Set(['UND_ERR_REQ_CONTENT_LENGTH_MISMATCH']);

/** Upstream failures as the browser sees them: no address, no stack, just what kind of failure. */
export function upstreamError(error: unknown): GatehouseError {
  if (error instanceof GatehouseError) return error;
  if (error instanceof BodyTooLarge || (error as { cause?: unknown }).cause instanceof BodyTooLarge) {
    return new GatehouseError('payload_too_large', { cause: error, detail: 'chunked body over the route limit' });
  }
  const code = (error as { code?: string }).code ?? '';
  if (TIMEOUT_CODES.has(code) || (error as Error).name === 'TimeoutError') {
    return new GatehouseError('upstream_timeout', { cause: error, detail: code || 'timeout' });
  }
  if (CLIENT_BODY_CODES.has(code)) return new GatehouseError('invalid_request', { cause: error, detail: code });
  return new GatehouseError('upstream_unavailable', { cause: error, detail: code || String(error) });
}
