/**
 * A scripted browser for tests: a real cookie jar (tough-cookie, which applies Secure, __Host-,
 * Path and SameSite rules like a browser does), Fetch Metadata headers, manual redirects, and a
 * record of every response it received so tests can scan them for leaked tokens.
 */
import { CookieJar } from 'tough-cookie';
import { Agent, request } from 'undici';

export interface SeenResponse {
  url: string;
  status: number;
  headers: Headers;
  body: string;
}

export interface BrowserRequest {
  method?: string;
  headers?: Record<string, string>;
  body?: string;
  /** A top-level navigation (link click, redirect, address bar) rather than fetch(). */
  navigate?: boolean;
  /** The page that makes the request; decides SameSite and Sec-Fetch-Site. Default: the target's own origin. */
  from?: string;
  /**
   * The public origin of a load balancer in front of the URL's instance: the browser addresses the
   * request to it (Origin, Fetch Metadata) while it reaches this instance.
   */
  balancedAs?: string;
}

export class TestBrowser {
  readonly jar = new CookieJar();
  readonly seen: SeenResponse[] = [];
  readonly #dispatcher: Agent | undefined;

  /** `ca`: a test CA the browser trusts, for HTTPS servers of the tests' own PKI. */
  constructor(options: { ca?: string } = {}) {
    this.#dispatcher = options.ca ? new Agent({ connect: { ca: options.ca } }) : undefined;
  }

  async request(url: string, init: BrowserRequest = {}): Promise<SeenResponse> {
    // Behind a load balancer the browser only ever sees the public origin, whichever instance answers.
    const target = new URL(init.balancedAs ?? url);
    const from = new URL(init.from ?? target.origin);
    const sameSite = siteOf(from) === siteOf(target);
    const method = init.method ?? 'GET';
    const sameSiteContext = sameSite ? 'strict' : init.navigate && method === 'GET' ? 'lax' : 'none';
    const cookie = await this.jar.getCookieString(url, { sameSiteContext });
    const headers: Record<string, string> = {
      'sec-fetch-site': from.origin === target.origin ? 'same-origin' : sameSite ? 'same-site' : 'cross-site',
      'sec-fetch-mode': init.navigate ? 'navigate' : 'cors',
      'sec-fetch-dest': init.navigate ? 'document' : 'empty',
      accept: init.navigate ? 'text/html,application/xhtml+xml,*/*;q=0.8' : '*/*',
      ...(cookie ? { cookie } : {}),
      ...(init.navigate ? {} : { origin: from.origin }),
      ...init.headers,
    };
    // undici.request rather than fetch(): fetch sets its own Sec-Fetch-* headers, a browser's would differ.
    const response = await request(url, {
      method: method as 'GET',
      headers,
      body: init.body,
      dispatcher: this.#dispatcher,
    });
    const responseHeaders = new Headers();
    for (const [name, value] of Object.entries(response.headers)) {
      for (const v of Array.isArray(value) ? value : [value ?? '']) responseHeaders.append(name, v);
    }
    for (const setCookie of responseHeaders.getSetCookie()) {
      await this.jar.setCookie(setCookie, url, { ignoreError: true, sameSiteContext: sameSite ? 'strict' : 'lax' });
    }
    const seen = { url, status: response.statusCode, headers: responseHeaders, body: await response.body.text() };
    this.seen.push(seen);
    return seen;
  }

  /** Navigates and follows redirects (as a browser would) until a non-redirect answer. */
  async navigate(url: string, init: BrowserRequest = {}): Promise<SeenResponse> {
    let response = await this.request(url, { ...init, navigate: true });
    let current = url;
    for (let hops = 0; hops < 20 && isRedirect(response.status); hops++) {
      const next = new URL(response.headers.get('location')!, current).href;
      response = await this.request(next, { navigate: true, from: current });
      current = next;
    }
    return response;
  }

  /** An XHR/fetch call from a page of `from` (default: same origin), with the anti-forgery header unless told otherwise. */
  api(url: string, init: BrowserRequest & { csrf?: boolean } = {}): Promise<SeenResponse> {
    const headers = { ...(init.csrf === false ? {} : { 'x-csrf': '1' }), ...init.headers };
    return this.request(url, { ...init, headers });
  }

  async cookie(url: string, name: string): Promise<string | undefined> {
    const cookies = await this.jar.getCookies(url);
    return cookies.find((c) => c.key === name)?.value;
  }
}

export function isRedirect(status: number): boolean {
  return status >= 300 && status < 400;
}

/** Schemeful site: scheme + host (no registrable-domain logic is needed for loopback hosts). */
function siteOf(url: URL): string {
  return `${url.protocol}//${url.hostname}`;
}
