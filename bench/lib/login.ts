/**
 * Signs in like a user: a fresh browser (the tests' scripted browser, with a real cookie jar) opens
 * the app's login URL, follows the redirects to the provider, fills in its login form, follows the
 * redirects back to the app's callback, and stops at the app's final redirect. Works for Gatehouse
 * and for express-openid-connect alike: only the login and callback paths differ.
 */
import { TestBrowser, isRedirect } from '../../packages/gatehouse/test/support/browser.js';

export interface SignInTarget {
  /** The app's origin, e.g. http://127.0.0.1:20123. */
  origin: string;
  loginPath: string;
  callbackPath: string;
}

export interface SignedIn {
  browser: TestBrowser;
  /** The Cookie header the browser would send on an API call to the app. */
  cookie: string;
  /** Whole sign-in, from the login link to the app's final redirect. */
  totalMs: number;
  /** The part spent waiting for the app itself (login start and callback). */
  appMs: number;
}

export async function signIn(target: SignInTarget, user = { username: 'alice', password: 'alice' }): Promise<SignedIn> {
  const browser = new TestBrowser();
  const started = performance.now();
  let appMs = 0;
  const visit = async (url: string, init: Parameters<TestBrowser['request']>[1]) => {
    const t = performance.now();
    const response = await browser.request(url, init);
    if (new URL(url).origin === target.origin) appMs += performance.now() - t;
    return response;
  };

  let current = `${target.origin}${target.loginPath}`;
  let response = await visit(current, { navigate: true });
  let calledBack = false;
  let posted = 0;
  for (let steps = 0; steps < 30; steps++) {
    if (isRedirect(response.status)) {
      const next = new URL(response.headers.get('location')!, current);
      // The app's answer to its callback is the end of the flow: it sends the browser to the page.
      if (calledBack) {
        return {
          browser,
          cookie: await apiCookie(browser, target.origin),
          totalMs: performance.now() - started,
          appMs,
        };
      }
      calledBack = next.origin === target.origin && next.pathname === target.callbackPath;
      response = await visit(next.href, { navigate: true, from: current });
      current = next.href;
      continue;
    }
    const action = /action="([^"]+)"/.exec(response.body)?.[1];
    if (calledBack || response.status !== 200 || !action || posted++ > 0) {
      throw new Error(
        `sign-in at ${target.origin} stopped at ${current}: ${response.status} ${response.body.slice(0, 300)}`,
      );
    }
    const formUrl = new URL(action.replaceAll('&amp;', '&'), current).href;
    response = await visit(formUrl, {
      method: 'POST',
      navigate: true,
      from: current,
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(user).toString(),
    });
    current = formUrl;
  }
  throw new Error(`sign-in at ${target.origin} did not finish`);
}

async function apiCookie(browser: TestBrowser, origin: string): Promise<string> {
  const cookie = await browser.jar.getCookieString(`${origin}/api/`, { sameSiteContext: 'strict' });
  if (!cookie) throw new Error(`sign-in at ${origin} left no cookie for the API`);
  return cookie;
}

/** Signs `count` browsers in, `concurrency` at a time. */
export async function signInMany(target: SignInTarget, count: number, concurrency: number): Promise<SignedIn[]> {
  const done: SignedIn[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, count) }, async () => {
      while (next < count) {
        next++;
        done.push(await signIn(target));
      }
    }),
  );
  return done;
}
