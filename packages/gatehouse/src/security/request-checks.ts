/**
 * Stateless checks on browser requests. Each returns the error to throw, or undefined.
 *
 * Cookie-authenticated API calls must carry the anti-forgery header (a custom header forces a CORS
 * preflight, which Gatehouse only grants to configured origins), come from this site (Origin and
 * Fetch Metadata), and not carry a form content type when they change state (what a cross-site
 * <form> sends).
 */
import type { HttpRequest } from '../http/exchange.js';
import type { GatehouseConfig } from '../config/load.js';
import { GatehouseError } from '../errors.js';

const STATE_CHANGING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/** What these checks read of a request: the browser's own, or one a gateway describes. */
export type RequestHeads = Pick<HttpRequest, 'method' | 'headers'>;
/** The content types a browser sends cross-site without a preflight (CORS "simple" requests). */
const FORM_TYPES = new Set(['application/x-www-form-urlencoded', 'multipart/form-data', 'text/plain']);

export class RequestChecks {
  readonly csrfHeader: string;
  readonly #publicOrigin: string;
  readonly #allowedOrigins: ReadonlySet<string>;
  readonly #allowSameSite: boolean;

  constructor(config: GatehouseConfig) {
    this.csrfHeader = config.security.csrfHeader.toLowerCase();
    this.#publicOrigin = config.publicOrigin;
    this.#allowedOrigins = new Set(config.security.allowedOrigins);
    this.#allowSameSite = config.security.allowSameSite;
  }

  /** Everything a cookie-authenticated API call must satisfy. */
  apiProblem(request: RequestHeads, options: { allowFormBodies?: boolean } = {}): GatehouseError | undefined {
    if (request.headers[this.csrfHeader] !== '1') return new GatehouseError('csrf_header_missing');
    const origin = this.originProblem(request);
    if (origin) return origin;
    if (!options.allowFormBodies && STATE_CHANGING.has(request.method) && isFormType(request.headers['content-type'])) {
      return new GatehouseError('unsupported_media_type', { detail: `form content type on ${request.method}` });
    }
    return undefined;
  }

  /**
   * The request comes from this site or a configured origin: a foreign Origin header, or Fetch
   * Metadata saying cross-site (or same-site, i.e. a sibling subdomain, unless allowed), is refused.
   */
  originProblem(request: Pick<RequestHeads, 'headers'>): GatehouseError | undefined {
    const origin = request.headers.origin;
    if (origin !== undefined) {
      if (this.#allowedOrigins.has(origin)) return undefined;
      if (origin !== this.#publicOrigin)
        return new GatehouseError('origin_not_allowed', { detail: `origin ${origin}` });
    }
    const site = request.headers['sec-fetch-site'];
    if (site === 'cross-site' || (site === 'same-site' && !this.#allowSameSite)) {
      return new GatehouseError('origin_not_allowed', { detail: `sec-fetch-site ${site}` });
    }
    return undefined;
  }

  /** An origin allowed to make credentialed cross-origin calls (CORS). */
  isAllowedOrigin(origin: string | undefined): origin is string {
    return origin !== undefined && this.#allowedOrigins.has(origin);
  }
}

function isFormType(contentType: string | undefined): boolean {
  if (contentType === undefined) return false;
  return FORM_TYPES.has(contentType.split(';', 1)[0]!.trim().toLowerCase());
}

/**
 * Sign-in may only start from a top-level navigation: an <img>, <iframe> or fetch() from any page
 * must not be able to kick off a login. Browsers that send no Fetch Metadata are let through.
 */
export function navigationProblem(request: Pick<HttpRequest, 'headers'>): GatehouseError | undefined {
  const mode = request.headers['sec-fetch-mode'];
  const dest = request.headers['sec-fetch-dest'];
  if ((mode !== undefined && mode !== 'navigate') || (dest !== undefined && dest !== 'document')) {
    return new GatehouseError('navigation_required', { detail: `sec-fetch-mode=${mode} sec-fetch-dest=${dest}` });
  }
  return undefined;
}
