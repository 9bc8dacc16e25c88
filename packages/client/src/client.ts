/**
 * The browser side of Gatehouse. The SPA never sees a token: the session cookie is HttpOnly and
 * the browser sends it by itself; this client only adds what the browser cannot do alone (the
 * anti-forgery header) and turns Gatehouse's answers into events and typed errors.
 */
import { HttpError, NetworkError, SessionEndedError, StepUpRequiredError } from './errors.js';
import { watchSession, type SessionEndingSoonDetail, type SessionWatchOptions } from './session-watch.js';

export interface GatehouseClientOptions {
  /** Where Gatehouse's endpoints live: its `basePath` setting. Default `/api`. */
  basePath?: string;
  /** The anti-forgery header: its `security.csrfHeader` setting. Default `X-CSRF`. */
  csrfHeader?: string;
  /**
   * What happens when an API call finds the session over: `event` (default) emits `sessionended`
   * and throws `SessionEndedError`; `login` also starts a new sign-in that returns to this page.
   */
  onSessionEnded?: 'event' | 'login';
  /**
   * Sends `x-amz-content-sha256` (the body's SHA-256, hex) with every request that may carry a body.
   * CloudFront's origin access control needs it in front of a Lambda function URL, which refuses
   * unsigned bodies (docs/deploy-lambda.md). Bodies must then be strings, bytes, Blobs or
   * URLSearchParams: a stream or FormData cannot be hashed before it is sent.
   */
  contentSha256?: boolean;
  /** Overrides for tests or unusual hosts. */
  fetch?: typeof fetch;
  navigate?: (url: string) => void;
}

export interface LoginOptions {
  prompt?: 'none' | 'login';
  /**
   * The provider to sign in with, by its name in Gatehouse's `oidc.providers` ("default": `oidc`
   * itself). Unset: the one the current session signed in with, else the default. A name Gatehouse
   * does not know is refused (400), never replaced.
   */
  provider?: string;
  /** A step-up: the authentication context classes to reach (from `StepUpRequiredError.acrValues`). */
  acrValues?: readonly string[];
  /** A step-up: authenticate again if the last time was longer ago than this, in seconds. */
  maxAge?: number;
}

/** `GET /api/auth/user`: the ID token's profile claims and the session's deadlines. */
export interface GatehouseUser {
  sub: string;
  name?: string;
  given_name?: string;
  email?: string;
  [claim: string]: unknown;
  gatehouse: {
    /** When the session ends if the user does nothing (ISO 8601). */
    sessionExpiresAt: string;
    /** When the session ends regardless (ISO 8601). */
    absoluteExpiresAt: string;
    /** A plain-link sign-out URL, bound to this session. */
    logoutUrl: string;
    /** The provider the session signed in with ("default", or a name from `oidc.providers`). */
    provider: string;
  };
}

export interface SessionEndedDetail {
  /** Gatehouse's error code: `unauthenticated` or `session_expired`. */
  code: string | undefined;
}

export type JsonRequestInit = Omit<RequestInit, 'body'> & {
  /** Sent as `application/json`. */
  json?: unknown;
  body?: RequestInit['body'];
};

// 401s that mean "sign in again". An upstream that refused the token (upstream_unauthorized) is
// not one: the session is still there.
const SESSION_OVER = new Set(['unauthenticated', 'session_expired', undefined]);

export class GatehouseClient extends EventTarget {
  readonly basePath: string;
  private readonly csrfHeader: string;
  private readonly onSessionEndedMode: 'event' | 'login';
  private readonly fetchImpl: typeof fetch;
  private readonly navigate: (url: string) => void;
  private readonly contentSha256: boolean;

  constructor(options: GatehouseClientOptions = {}) {
    super();
    this.basePath = (options.basePath ?? '/api').replace(/\/+$/, '');
    this.csrfHeader = options.csrfHeader ?? 'X-CSRF';
    this.onSessionEndedMode = options.onSessionEnded ?? 'event';
    // Bound: calling window.fetch with another `this` throws "Illegal invocation".
    this.fetchImpl = options.fetch ?? globalThis.fetch.bind(globalThis);
    this.navigate = options.navigate ?? ((url) => window.location.assign(url));
    this.contentSha256 = options.contentSha256 ?? false;
  }

  /**
   * Leaves the page for the provider's sign-in; comes back to `returnTo` (default: this page).
   * `prompt: 'none'` signs in silently: back signed in if the provider still has a session, else
   * back signed out, with `gatehouse_signin=login_required` (or the provider's other code) added to
   * the URL, so the app does not try again (see `silentSignInResult()`). `prompt: 'login'` makes the
   * provider ask for credentials even when it has a session. `provider` picks one of several
   * providers.
   */
  login(returnTo: string = currentPath(), options: LoginOptions = {}): void {
    const query = new URLSearchParams({ returnTo });
    if (options.prompt) query.set('prompt', options.prompt);
    if (options.provider) query.set('provider', options.provider);
    if (options.acrValues?.length) query.set('acr_values', options.acrValues.join(' '));
    if (options.maxAge !== undefined) query.set('max_age', String(options.maxAge));
    this.navigate(`${this.basePath}/auth/login?${query}`);
  }

  /** After a silent sign-in that came back signed out: the provider's code (`login_required`...), else null. */
  silentSignInResult(search: string = typeof location === 'undefined' ? '' : location.search): string | null {
    return new URLSearchParams(search).get('gatehouse_signin');
  }

  /**
   * Ends the session on the server, then leaves for the provider's end-session page (which comes
   * back to the app's post-logout URL). Throws `NetworkError` if Gatehouse cannot be reached: the
   * session may still be live, so the app should say so rather than pretend.
   */
  async logout(): Promise<void> {
    const response = await this.send(`${this.basePath}/auth/logout`, { method: 'POST' });
    const body = (await readBody(response)) as { logoutUrl?: string } | undefined;
    if (!response.ok) throw httpError(response, body);
    this.navigate(body?.logoutUrl ?? '/');
  }

  /**
   * The signed-in user, or `null` when nobody is. `slide: false` reads without counting as
   * activity, for polling the session's deadline.
   */
  async getUser(options: { slide?: boolean } = {}): Promise<GatehouseUser | null> {
    const query = options.slide === false ? '?slide=false' : '';
    const response = await this.send(`${this.basePath}/auth/user${query}`, {});
    const body = await readBody(response);
    if (response.status === 401) return null;
    if (!response.ok) throw httpError(response, body);
    return body as GatehouseUser;
  }

  /**
   * `fetch` for the app's own API: same-origin only, with the session cookie and the anti-forgery
   * header. Resolves with the response for any status except a 401 that means the session is
   * over, which emits `sessionended` and throws `SessionEndedError`.
   */
  async fetch(path: string, init: RequestInit = {}): Promise<Response> {
    const response = await this.send(path, init);
    if (response.status === 401) {
      const body = await readBody(response.clone());
      const code = errorCode(body);
      if (SESSION_OVER.has(code)) {
        this.dispatchEvent(new CustomEvent<SessionEndedDetail>('sessionended', { detail: { code } }));
        if (this.onSessionEndedMode === 'login') this.login();
        throw new SessionEndedError(401, code, errorMessage(body, 'Your session has ended.'), body);
      }
    }
    return response;
  }

  /** `fetch` plus JSON both ways: resolves with the parsed body, throws `HttpError` on any error status. */
  async fetchJson<T = unknown>(path: string, init: JsonRequestInit = {}): Promise<T> {
    const { json, ...rest } = init;
    const headers = new Headers(rest.headers);
    if (!headers.has('accept')) headers.set('accept', 'application/json');
    if (json !== undefined) headers.set('content-type', 'application/json');
    const response = await this.fetch(path, {
      ...rest,
      headers,
      body: json !== undefined ? JSON.stringify(json) : rest.body,
    });
    const body = await readBody(response);
    if (!response.ok) throw httpError(response, body);
    return body as T;
  }

  /**
   * Follows the session (Gatehouse's `/auth/events`, or polling where streaming fails): emits
   * `sessionended` when it ends anywhere (logout in another tab, the provider, an admin, a timeout),
   * `sessionendingsoon` before a timeout, `userchanged` when the user's claims change, and
   * `sessionupdate` with the deadlines. Returns the function that stops it. Watching is not
   * activity: it never keeps an idle session alive.
   */
  watchSession(options?: SessionWatchOptions): () => void {
    return watchSession(
      {
        basePath: this.basePath,
        request: (path, init) => this.send(path, init),
        emit: (type, detail) => this.dispatchEvent(new CustomEvent(type, { detail })),
      },
      options,
    );
  }

  /** Subscribes to `sessionendingsoon`; returns the unsubscribe function. */
  onSessionEndingSoon(listener: (detail: SessionEndingSoonDetail) => void): () => void {
    const handler = (event: Event) => listener((event as CustomEvent<SessionEndingSoonDetail>).detail);
    this.addEventListener('sessionendingsoon', handler);
    return () => this.removeEventListener('sessionendingsoon', handler);
  }

  /** Subscribes to `sessionended`; returns the unsubscribe function. */
  onSessionEnded(listener: (detail: SessionEndedDetail) => void): () => void {
    const handler = (event: Event) => listener((event as CustomEvent<SessionEndedDetail>).detail);
    this.addEventListener('sessionended', handler);
    return () => this.removeEventListener('sessionended', handler);
  }

  private async send(path: string, init: RequestInit): Promise<Response> {
    const url = sameOriginUrl(path);
    const headers = new Headers(init.headers);
    headers.set(this.csrfHeader, '1');
    const method = (init.method ?? 'GET').toUpperCase();
    if (this.contentSha256 && method !== 'GET' && method !== 'HEAD') {
      headers.set('x-amz-content-sha256', await sha256Hex(init.body));
    }
    try {
      return await this.fetchImpl(url, { ...init, headers, credentials: 'same-origin' });
    } catch (error) {
      if ((error as Error)?.name === 'AbortError') throw error;
      throw new NetworkError(`Could not reach ${path}: ${(error as Error)?.message ?? String(error)}`, {
        cause: error,
      });
    }
  }
}

/** The hex SHA-256 of a body, as the request will send it. */
async function sha256Hex(body: RequestInit['body']): Promise<string> {
  if (body instanceof ReadableStream || body instanceof FormData) {
    throw new TypeError('contentSha256: a stream or FormData body cannot be hashed before it is sent');
  }
  const bytes = await new Response(body ?? '').arrayBuffer();
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes));
  return Array.from(digest, (byte) => byte.toString(16).padStart(2, '0')).join('');
}

export function createGatehouseClient(options?: GatehouseClientOptions): GatehouseClient {
  return new GatehouseClient(options);
}

function currentPath(): string {
  const { pathname, search, hash } = window.location;
  return `${pathname}${search}${hash}`;
}

// The anti-forgery header and the cookie are for this origin's API only; refusing other origins
// keeps a mistaken absolute URL from becoming a credentialed call somewhere else.
function sameOriginUrl(path: string): string {
  const origin = window.location.origin;
  const url = new URL(path, origin);
  if (url.origin !== origin) throw new TypeError(`Gatehouse client: ${path} is not on this origin`);
  return url.pathname + url.search;
}

async function readBody(response: Response): Promise<unknown> {
  const text = await response.text().catch(() => '');
  if (!text) return undefined;
  if (!(response.headers.get('content-type') ?? '').includes('json')) return text;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

function errorCode(body: unknown): string | undefined {
  const code = (body as { error?: unknown } | undefined)?.error;
  return typeof code === 'string' ? code : undefined;
}

function errorMessage(body: unknown, fallback: string): string {
  const message = (body as { message?: unknown } | undefined)?.message;
  return typeof message === 'string' ? message : fallback;
}

function httpError(response: Response, body: unknown): HttpError {
  const Kind = errorCode(body) === 'step_up_required' ? StepUpRequiredError : HttpError;
  return new Kind(
    response.status,
    errorCode(body),
    errorMessage(body, `${response.status} ${response.statusText}`.trim()),
    body,
  );
}
