/**
 * Session lifetime enforced on the server: idle and absolute timeouts, with short limits and real
 * time; the cookie itself carries no expiry to tamper with.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { TestBrowser } from './support/browser.js';
import { signIn, startStack, type Stack } from './support/stack.js';

describe('session timeouts', () => {
  let stack: Stack;
  before(async () => {
    stack = await startStack({
      gatehouse: (defaults) => ({
        ...defaults,
        session: { ...defaults.session!, idleTimeout: '1s', absoluteTimeout: '3s' },
      }),
    });
  });
  after(() => stack.close());

  it('ends a session left idle past the idle timeout', async () => {
    const browser = new TestBrowser();
    await signIn(browser, stack);
    assert.equal((await browser.api(`${stack.app}/api/orders`)).status, 200);
    await sleep(1300);
    const response = await browser.api(`${stack.app}/api/orders`);
    assert.equal(response.status, 401);
    assert.equal(JSON.parse(response.body).error, 'session_expired');
  });

  it('keeps an active session alive past the idle timeout, but not past the absolute lifetime', async () => {
    const browser = new TestBrowser();
    await signIn(browser, stack);
    const started = Date.now();
    while (Date.now() - started < 2400) {
      assert.equal((await browser.api(`${stack.app}/api/orders`)).status, 200, 'activity slides the idle timeout');
      await sleep(300);
    }
    await sleep(Math.max(0, 3200 - (Date.now() - started)));
    assert.equal((await browser.api(`${stack.app}/api/orders`)).status, 401, 'the absolute lifetime is final');
  });

  it('reports when the session will end, and ?slide=false reads it without extending it', async () => {
    const browser = new TestBrowser();
    await signIn(browser, stack);
    const first = JSON.parse((await browser.api(`${stack.app}/api/auth/user`)).body).gatehouse;
    assert.ok(Date.parse(first.sessionExpiresAt) <= Date.parse(first.absoluteExpiresAt));
    for (let i = 0; i < 4; i++) {
      await sleep(300);
      const read = await browser.api(`${stack.app}/api/auth/user?slide=false`);
      if (i < 2) assert.equal(read.status, 200);
    }
    assert.equal(
      (await browser.api(`${stack.app}/api/auth/user`)).status,
      401,
      'reads without sliding let it idle out',
    );
  });
});
