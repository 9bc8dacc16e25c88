/**
 * How a refusal or failure is answered, on every runtime: logged (4xx as a refusal, 5xx with its
 * cause), then its status and JSON body (`{ error, message }`, never internals), `no-store`, its
 * own headers (Allow, Retry-After), or an HTML page when a browser navigated to a sign-in endpoint.
 */
import type { GatehouseError } from '../errors.js';
import { ERROR_PAGE_CSP, errorPage } from '../security/error-page.js';
import type { HttpReply, HttpRequest, Log } from './exchange.js';

export function logFailure(log: Log, failure: GatehouseError): void {
  if (failure.status >= 500) {
    log.error({ err: failure.cause ?? failure, code: failure.code, detail: failure.detail }, 'request failed');
  } else {
    log.info({ code: failure.code, detail: failure.detail }, 'request refused');
  }
}

/** Writes the answer to `failure` into `reply`; `htmlErrors`: the endpoint answers navigations with a page. */
export function answerFailure(
  failure: GatehouseError,
  request: HttpRequest,
  reply: HttpReply,
  options: { htmlErrors: boolean; loginPath: string; homePath?: string },
): void {
  reply.code(failure.status);
  reply.header('cache-control', 'no-store');
  if (failure.headers) reply.headers(failure.headers);
  if (options.htmlErrors && (request.headers.accept ?? '').includes('text/html')) {
    reply.header('content-security-policy', ERROR_PAGE_CSP);
    reply.type('text/html; charset=utf-8');
    reply.send(errorPage(failure, options.loginPath, options.homePath));
    return;
  }
  reply.send(failure.toJSON());
}
