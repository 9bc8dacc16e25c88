/**
 * The admin listener: health, readiness, and session admin behind a bearer token (list a user's
 * sessions by handle, end one, end all); ended sessions have their tokens revoked.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { TestBrowser } from './support/browser.js';
import { signIn, startStack, type Stack } from './support/stack.js';

const ADMIN_TOKEN = 'admin-token-for-tests-0123456789abcdef';

describe('admin listener', () => {
  let stack: Stack;
  before(async () => {
    stack = await startStack({
      gatehouse: (defaults) => ({ ...defaults, admin: { ...defaults.admin, token: ADMIN_TOKEN } }),
    });
  });
  after(() => stack.close());

  const admin = (path: string, init: RequestInit = {}, token = ADMIN_TOKEN) =>
    fetch(`${stack.admin}${path}`, { ...init, headers: { authorization: `Bearer ${token}`, ...init.headers } });

  it('reports health and readiness without a token', async () => {
    assert.equal((await fetch(`${stack.admin}/healthz`)).status, 200);
    const ready = await fetch(`${stack.admin}/readyz`);
    assert.equal(ready.status, 200);
    assert.deepEqual(await ready.json(), {
      status: 'ready',
      checks: { sessionStore: 'ok', identityProvider: 'ok' },
    });
  });

  it('refuses session admin without the right bearer token', async () => {
    for (const token of ['', 'wrong', `${ADMIN_TOKEN}x`, ADMIN_TOKEN.slice(0, -1)]) {
      const response = await admin('/sessions?sub=alice', {}, token);
      assert.equal(response.status, 401);
      assert.equal(((await response.json()) as { error: string }).error, 'admin_unauthorized');
    }
    assert.equal((await fetch(`${stack.admin}/sessions?sub=alice`)).status, 401);
  });

  it("lists a user's sessions by handle, ends one, then ends all", async () => {
    const browsers = [new TestBrowser(), new TestBrowser(), new TestBrowser()];
    for (const browser of browsers) await signIn(browser, stack);
    const alive = async (browser: TestBrowser) => (await browser.api(`${stack.app}/api/auth/user`)).status === 200;

    const listed = (await (await admin('/sessions?sub=alice')).json()) as { sessions: { handle: string }[] };
    assert.ok(listed.sessions.length >= 3);
    const ids = await Promise.all(browsers.map((b) => b.cookie(stack.app, '__Host-gatehouse')));
    for (const session of listed.sessions) {
      assert.ok(!ids.includes(session.handle), 'handles are not session ids');
      assert.match(session.handle, /^[A-Za-z0-9_-]{43}$/);
    }

    // A fourth sign-in: its handle is the one that was not listed before.
    const before = new Set(listed.sessions.map((s) => s.handle));
    const extra = new TestBrowser();
    await signIn(extra, stack);
    const withExtra = (await (await admin('/sessions?sub=alice')).json()) as { sessions: { handle: string }[] };
    const extraHandle = withExtra.sessions.map((s) => s.handle).find((h) => !before.has(h))!;
    assert.equal((await admin(`/sessions/${extraHandle}`, { method: 'DELETE' })).status, 204);
    assert.equal(await alive(extra), false);
    assert.equal(await alive(browsers[0]!), true, 'the others live on');
    assert.equal((await admin(`/sessions/${extraHandle}`, { method: 'DELETE' })).status, 404);

    const endAll = await admin('/sessions?sub=alice', { method: 'DELETE' });
    assert.equal(endAll.status, 200);
    assert.ok(((await endAll.json()) as { ended: number }).ended >= 3);
    for (const browser of browsers) assert.equal(await alive(browser), false);
    assert.deepEqual(((await (await admin('/sessions?sub=alice')).json()) as { sessions: unknown[] }).sessions, []);
  });

  it('needs a sub to list or end a user', async () => {
    assert.equal((await admin('/sessions')).status, 400);
    assert.equal((await admin('/sessions', { method: 'DELETE' })).status, 400);
  });
});

describe('admin listener without a token configured', () => {
  it('offers no session admin at all', async () => {
    const stack = await startStack();
    try {
      assert.equal((await fetch(`${stack.admin}/sessions?sub=alice`)).status, 404);
      assert.equal((await fetch(`${stack.admin}/healthz`)).status, 200);
    } finally {
      await stack.close();
    }
  });
});
