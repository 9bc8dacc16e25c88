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

/**
 * The call needs a stronger or more recent sign-in than the session has (RFC 9470 step-up):
 * `acrValues` and `maxAge` say what, and `client.login(returnTo, { acrValues, maxAge })` gets it.
 * The session itself is fine.
 */
export class StepUpRequiredError extends HttpError {
  override name = 'StepUpRequiredError';
  /** The authentication context classes, any one of which will do. */
  get acrValues(): string[] | undefined {
    const value = (this.body as { acr_values?: unknown } | undefined)?.acr_values;
    return typeof value === 'string' ? value.split(' ').filter(Boolean) : undefined;
  }
  /** The longest time, in seconds, since the user last authenticated. */
  get maxAge(): number | undefined {
    const value = (this.body as { max_age?: unknown } | undefined)?.max_age;
    return typeof value === 'number' ? value : undefined;
  }
}

/** The request never got an answer: offline, DNS, connection reset. Safe to retry later. */
export class NetworkError extends GatehouseError {
  override name = 'NetworkError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message);
    if (options) this.cause = options.cause;
  }
}
