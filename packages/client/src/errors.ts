/**
 * What can go wrong when the SPA talks to Gatehouse, as classes an app can tell apart with
 * `instanceof` (or by `name`, across bundles).
 */

/** Base class of every error the SDK throws. */
export class GatehouseError extends Error {
  override name = 'GatehouseError';
}

/**
 * The server answered with an error status. `code` is Gatehouse's (or the upstream's) JSON `error`
 * value when it sent one (`csrf_header_missing`, `upstream_timeout`, ...; see docs/errors.md).
 */
export class HttpError extends GatehouseError {
  override name = 'HttpError';
  constructor(
    readonly status: number,
    readonly code: string | undefined,
    message: string,
    /** The parsed JSON body, or the text when it was not JSON. */
    readonly body: unknown,
  ) {
    super(message);
  }
}

/**
 * The user is no longer signed in (never was, signed out in another tab, timed out, or was signed
 * out by the provider). The client has already emitted `sessionended`.
 */
export class SessionEndedError extends HttpError {
  override name = 'SessionEndedError';
}

/** The request never got an answer: offline, DNS, connection reset. Safe to retry later. */
export class NetworkError extends GatehouseError {
  override name = 'NetworkError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message);
    if (options) this.cause = options.cause;
  }
}
