/**
 * The one error root. Every failure the browser can see is a GatehouseError with a stable public
 * `code`, an HTTP `status` and a human `message`; `detail` and `cause` go to the log only.
 * Anything that is not a GatehouseError leaves the process as a generic `server_error`.
 */

/** Every public error code, its status and the message the browser sees. docs/errors.md lists exactly these. */
export const ERROR_CODES = {
  invalid_request: { status: 400, message: 'The request is malformed.' },
  invalid_return_to: {
    status: 400,
    message: 'returnTo must be a relative path on this site.',
  },
  invalid_state: {
    status: 400,
    message: 'This sign-in attempt is unknown, was already used, or has expired. Please sign in again.',
  },
  access_denied: {
    status: 400,
    message: 'Sign-in was cancelled or refused by the identity provider.',
  },
  login_failed: {
    status: 400,
    message: 'Sign-in could not be completed. Please try again.',
  },
  invalid_path: { status: 400, message: 'The request path is not allowed.' },
  invalid_logout_token: { status: 400, message: 'The logout token is not valid.' },
  unauthenticated: { status: 401, message: 'Sign-in required.' },
  step_up_required: {
    status: 401,
    message: 'This needs a stronger or more recent sign-in.',
  },
  step_up_failed: {
    status: 403,
    message: 'The identity provider did not confirm the stronger sign-in this needs.',
  },
  upstream_unauthorized: {
    status: 401,
    message: 'The API did not accept your credentials. Try again; if it persists, sign in again.',
  },
  session_expired: {
    status: 401,
    message: 'Your session has ended. Please sign in again.',
  },
  admin_unauthorized: { status: 401, message: 'A valid admin bearer token is required.' },
  gateway_unauthorized: { status: 401, message: 'Only the API gateway may ask here.' },
  csrf_header_missing: {
    status: 403,
    message: 'The anti-forgery header is missing.',
  },
  navigation_required: {
    status: 403,
    message: 'Sign-in must start from a top-level navigation.',
  },
  forbidden: { status: 403, message: 'You are not allowed to do this.' },
  token_refused: {
    status: 403,
    message: 'The identity provider does not grant a token for this API to you.',
  },
  origin_not_allowed: { status: 403, message: 'Requests from this origin are not allowed.' },
  origin_verification_failed: { status: 403, message: 'This endpoint is only reachable through the site itself.' },
  not_found: { status: 404, message: 'Not found.' },
  method_not_allowed: {
    status: 405,
    message: 'This method is not allowed here.',
  },
  payload_too_large: { status: 413, message: 'The request body is too large.' },
  unsupported_media_type: {
    status: 415,
    message: 'This content type is not accepted here.',
  },
  rate_limited: { status: 429, message: 'Too many requests. Please slow down and try again shortly.' },
  request_header_too_large: {
    status: 431,
    message: 'The request headers are too large.',
  },
  upstream_unavailable: {
    status: 502,
    message: 'The service behind this API is unavailable.',
  },
  upstream_error: {
    status: 502,
    message: 'The service behind this API could not answer this request.',
  },
  session_store_unavailable: {
    status: 503,
    message: 'Sessions are temporarily unavailable. Please try again shortly.',
  },
  idp_unavailable: {
    status: 503,
    message: 'The identity provider is unavailable. Please try again shortly.',
  },
  response_too_large: {
    status: 502,
    message: 'The answer is larger than this deployment can deliver.',
  },
  upstream_timeout: {
    status: 504,
    message: 'The service behind this API did not answer in time.',
  },
  server_error: { status: 500, message: 'Something went wrong.' },
  session_too_large: {
    status: 500,
    message: 'This sign-in produced more data than fits in cookies. Please contact the administrator.',
  },
} as const satisfies Record<string, { status: number; message: string }>;

export type ErrorCode = keyof typeof ERROR_CODES;

export interface GatehouseErrorOptions {
  /** Overrides the default public message for the code. Never put internals here. */
  message?: string;
  /** Log-only detail: what really happened. */
  detail?: string;
  cause?: unknown;
  /** Response headers that belong to this error (e.g. Retry-After). */
  headers?: Record<string, string>;
  /** More members of the JSON body, for what the browser must know to recover (step-up: acr_values, max_age). */
  body?: Record<string, string | number>;
}

export class GatehouseError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly detail: string | undefined;
  readonly headers: Record<string, string> | undefined;
  readonly body: Record<string, string | number> | undefined;

  constructor(code: ErrorCode, options: GatehouseErrorOptions = {}) {
    super(options.message ?? ERROR_CODES[code].message, {
      cause: options.cause,
    });
    this.name = 'GatehouseError';
    this.code = code;
    this.status = ERROR_CODES[code].status;
    this.detail = options.detail;
    this.headers = options.headers;
    this.body = options.body;
  }

  /** The body the browser receives. */
  toJSON(): { error: ErrorCode; message: string } {
    return { ...this.body, error: this.code, message: this.message };
  }
}

/** Turns anything thrown into a GatehouseError; unknown errors become `server_error`. */
export function toGatehouseError(error: unknown): GatehouseError {
  if (error instanceof GatehouseError) return error;
  return new GatehouseError('server_error', { cause: error });
}
