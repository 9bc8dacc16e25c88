/**
 * Relays one upstream answer into the browser's response, as undici delivers it: status and the
 * headers the policy lets through as soon as they arrive, then the body chunk by chunk with
 * backpressure. No stream objects and no Fastify send path on the way: this runs for every proxied
 * call. An answer the caller holds back (a 401 worth a retry) is drained and nothing is written.
 */
import type { IncomingHttpHeaders, ServerResponse } from 'node:http';
import { PassThrough, type Writable } from 'node:stream';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Dispatcher } from 'undici';
import { browserResponseHeaders } from '../proxy/headers.js';
import type { RelayOptions } from '../proxy/transport.js';
import { setsCookies } from '../session/session-manager.js';

/** Why an upstream call was abandoned: the browser closed its connection first. */
export class ClientGone extends Error {}

/** An undici dispatch handler; `done` settles once the answer is relayed, or with the error that came before any byte was. */
export class Relay implements Dispatcher.DispatchHandler {
  /** The upstream's status and headers, once they arrived. */
  readonly answer: { status: number; headers: IncomingHttpHeaders } = { status: 0, headers: {} };
  /** Where the body goes once the answer is relayed: the socket's response, or a stream Fastify sends. */
  #sink: Writable | undefined;
  #controller: Dispatcher.DispatchController | undefined;
  readonly #res: ServerResponse;

  constructor(
    private readonly request: FastifyRequest,
    private readonly reply: FastifyReply,
    private readonly options: RelayOptions,
    private readonly done: (error: Error | undefined) => void,
  ) {
    this.#res = reply.raw;
    this.#res.once('close', this.#onClose);
  }

  /** The browser went away before the answer was complete: stop the upstream work too. */
  readonly #onClose = () => {
    if (!this.#res.writableFinished) this.#controller?.abort(new ClientGone());
  };

  readonly #onDrain = () => this.#controller?.resume();

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.#controller = controller;
    if (this.#res.destroyed) controller.abort(new ClientGone());
  }

  onResponseStart(_controller: Dispatcher.DispatchController, statusCode: number, headers: IncomingHttpHeaders): void {
    this.answer.status = statusCode;
    this.answer.headers = headers;
    if (this.options.holdBack(statusCode)) return;
    const { reply, options } = this;
    if (setsCookies(reply)) {
      // A session cookie to set (cookie mode re-issues it now and then): Fastify's send path writes
      // it, so the body goes through a stream there. Rare: not the hot path.
      const stream = new PassThrough();
      reply.code(statusCode).headers(browserResponseHeaders(headers)); // onSend adds Connection: close
      reply.send(stream);
      this.#sink = stream;
      return;
    }
    reply.hijack();
    // Gatehouse's own headers (security, CORS) first, the upstream's over them: one object.
    const all = browserResponseHeaders(headers, reply.getHeaders() as Record<string, string | string[]>);
    if (options.closing()) all.connection = 'close';
    this.#res.writeHead(statusCode, all);
    this.#sink = this.#res;
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    // undici hands over an empty chunk where a body spans two socket reads; written, it would cost
    // an empty write() system call on every such answer.
    if (!this.#sink || chunk.length === 0 || this.#sink.write(chunk)) return;
    // The browser reads slower than the upstream sends: wait for it (a listener only when needed).
    controller.pause();
    this.#sink.once('drain', this.#onDrain);
  }

  onResponseEnd(): void {
    this.#detach();
    this.#sink?.end();
    this.done(undefined);
  }

  onResponseError(_controller: Dispatcher.DispatchController, error: Error): void {
    this.#detach();
    if (!this.#sink) return this.done(error);
    // Headers are out: all that is left is to cut the browser's response short too.
    this.request.log.info({ detail: (error as { code?: string }).code ?? String(error) }, 'upstream answer broke off');
    this.#sink.destroy();
    this.#res.destroy();
    this.done(undefined);
  }

  #detach(): void {
    this.#res.off('close', this.#onClose);
    this.#sink?.off('drain', this.#onDrain);
  }
}
