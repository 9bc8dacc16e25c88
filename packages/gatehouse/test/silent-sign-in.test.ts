/**
 * Silent sign-in (prompt=none, OpenID Connect Core §3.1.2.1): with a session at the provider the
 * browser comes back signed in without seeing a page; without one it comes back to the app signed
 * out, the provider's code in the URL, never an error page; other refusals stay errors.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { TestBrowser } from './support/browser.js';
import { deliver, providerAnswer, signIn, startStack, type Stack } from './support/stack.js';

describe('silent sign-in (prompt=none)', () => {
  let stack: Stack;
  before(async () => {
    stack = await startStack();
  });
  after(() => stack?.close());

  const silently = { login: { prompt: 'none' }, returnTo: '/orders?tab=open#top' };

  it('comes back signed out, to the page it left, with login_required in the URL and no session', async () => {
    const browser = new TestBrowser();
    const answer = await providerAnswer(browser, stack, silently);
    assert.equal(answer.url.searchParams.get('error'), 'login_required', 'the provider had no session');
    const back = await deliver(browser, stack, answer);
    assert.equal(back.status, 302, back.body);
    assert.equal(back.headers.get('location'), '/orders?tab=open&gatehouse_signin=login_required#top');
    assert.equal(await browser.cookie(stack.app, '__Host-gatehouse'), undefined);
    assert.equal((await browser.api(`${stack.app}/api/auth/user`)).status, 401);
    const replayed = await deliver(browser, stack, answer);
    assert.equal(replayed.status, 400, 'the answer is single-use, as any callback');
  });

  it('signs in without a page when the provider still has a session', async () => {
    const browser = new TestBrowser();
    assert.equal((await signIn(browser, stack)).status, 302);
    const first = await browser.cookie(stack.app, '__Host-gatehouse');
    // The app's session is gone (say, expired: the browser dropped the cookie); the provider's is not.
    await browser.jar.setCookie('__Host-gatehouse=; Max-Age=0; Path=/; Secure', stack.app);
    assert.equal(await browser.cookie(stack.app, '__Host-gatehouse'), undefined);
    const answer = await providerAnswer(browser, stack, silently);
    assert.ok(answer.url.searchParams.get('code'), 'no login page was shown');
    const back = await deliver(browser, stack, answer);
    assert.equal(back.status, 302);
    assert.equal(back.headers.get('location'), '/orders?tab=open#top');
    const again = await browser.cookie(stack.app, '__Host-gatehouse');
    assert.ok(again && again !== first, 'a new session');
    assert.equal(JSON.parse((await browser.api(`${stack.app}/api/auth/user`)).body).sub, 'alice');
  });

  it('refuses prompts other than none and login, and repeated ones', async () => {
    const browser = new TestBrowser();
    for (const query of ['prompt=consent', 'prompt=none&prompt=login', 'prompt=']) {
      const response = await browser.request(`${stack.app}/api/auth/login?${query}`, {
        navigate: true,
        headers: { accept: 'application/json' },
      });
      assert.equal(response.status, 400, query);
      assert.equal(JSON.parse(response.body).error, 'invalid_request', query);
    }
  });

  it('keeps other refusals errors: access_denied after a silent request is not a quiet sign-out', async () => {
    const browser = new TestBrowser();
    const answer = await providerAnswer(browser, stack, silently);
    const denied = new URL(answer.url);
    denied.searchParams.set('error', 'access_denied');
    const back = await deliver(browser, stack, { url: denied });
    assert.equal(back.status, 400);
    assert.match(back.body, /access_denied/, 'the error page, as for any sign-in the user refused');
  });
});
