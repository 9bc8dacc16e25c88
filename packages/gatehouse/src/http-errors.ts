/**
 * How failures leave the process: GatehouseErrors with their status and JSON body, Fastify's own
 * 4xx in the same vocabulary, everything else as a generic `server_error` (details only in the log),
 * an HTML page for sign-in navigations, and malformed HTTP answered before Fastify sees it.
 */
import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { GatehouseError, toGatehouseError, type ErrorCode } from './errors.js';
import { answerFailure, logFailure } from './http/failure.js';

/** Fastify's own 4xx errors (parsing, limits) in Gatehouse's vocabulary. */
const FASTIFY_STATUS_CODES: Record<number, ErrorCode> = {
  404: 'not_found',
  405: 'method_not_allowed',
  413: 'payload_too_large',
  415: 'unsupported_media_type',
};

export interface ErrorHandlerOptions {
  /** Where the HTML error page's "sign in again" link points. */
  loginPath: string;
  /** Where its "home" link points (the app's pathPrefix + "/"); default "/". */
  homePath?: string;
  /** Called for `session_expired`, so the dead cookie is cleared wherever the session ended. */
  onSessionExpired?: (reply: FastifyReply) => void;
  /** Called with every error answered (for metrics). */
  onAnswered?: (request: FastifyRequest, code: ErrorCode) => void;
}

export function answerError(options: ErrorHandlerOptions) {
  return (error: FastifyError | GatehouseError, request: FastifyRequest, reply: FastifyReply) => {
    const status = (error as FastifyError).statusCode;
    const failure =
      error instanceof GatehouseError || status === undefined || status >= 500
        ? toGatehouseError(error)
        : new GatehouseError(FASTIFY_STATUS_CODES[status] ?? 'invalid_request', {
            cause: error,
            detail: error.message,
          });
    // The browser left first (its connection closed mid-request, which also aborts the upstream
    // call): nothing failed on our side and nobody is left to answer.
    // (Not request.raw.destroyed: a request whose body has been read is destroyed too.)
    const socket = reply.raw.socket;
    if (!reply.raw.writableFinished && (reply.raw.destroyed || !socket || socket.destroyed)) {
      request.log.info({ code: failure.code }, 'client closed the connection before the answer');
      return;
    }
    logFailure(request.log, failure);
    if (reply.sent || reply.raw.headersSent) return;
    options.onAnswered?.(request, failure.code);
    if (failure.code === 'session_expired') options.onSessionExpired?.(reply);
    answerFailure(failure, request, reply, {
      htmlErrors: request.routeOptions.config.htmlErrors === true,
      loginPath: options.loginPath,
      homePath: options.homePath,
    });
    return reply;
  };
}

/** Malformed HTTP (bad framing, oversized headers) is refused before Fastify sees it; answer in our format. */
export function answerClientError(error: NodeJS.ErrnoException, socket: Socket): void {
  writeRawError(
    socket,
    new GatehouseError(error.code === 'HPE_HEADER_OVERFLOW' ? 'request_header_too_large' : 'invalid_request'),
  );
}

/** Answers on a bare socket (no Fastify reply exists: malformed HTTP, refused WebSocket upgrades) and closes it. */
export function writeRawError(socket: Duplex, failure: GatehouseError): void {
  if (!socket.writable) return void socket.destroy();
  const body = JSON.stringify(failure.toJSON());
  socket.end(
    `HTTP/1.1 ${failure.status} ${STATUS_CODES[failure.status]}\r\nConnection: close\r\n` +
      `Content-Type: application/json\r\nCache-Control: no-store\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
}
