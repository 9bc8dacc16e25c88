/**
 * The same behaviour on every runtime: each case runs against the Node server and against the
 * Cloudflare Worker in real workerd, with the same provider, upstream and configuration. A
 * difference between runtimes is a failing test.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { TestBrowser } from './support/browser.js';
import { RUNTIMES, startRuntimeStack, type RuntimeStack } from './support/runtimes.js';
import { signIn } from './support/stack.js';

for (const runtime of RUNTIMES) {
  describe(`on ${runtime}`, () => {
    let stack: RuntimeStack;
    before(async () => {
      stack = await startRuntimeStack(runtime);
    });
    after(() => stack?.close());

    it('signs in, and the API call reaches the upstream with the token and without the cookie', async () => {
      const browser = new TestBrowser();
      const callback = await signIn(browser, stack);
      assert.equal(callback.status, 302, callback.body);
      const received = stack.upstream.received.length;
      const response = await browser.api(`${stack.app}/api/orders/42?x=1`);
      assert.equal(response.status, 200, response.body);
      const request = stack.upstream.received[received]!;
      assert.equal(request.url, '/orders/42?x=1');
      assert.match(request.headers.authorization ?? '', /^Bearer ey/);
      assert.equal(request.headers.cookie, undefined);
    });
  });
}
