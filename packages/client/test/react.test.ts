/**
 * The React bindings in real Chromium: a page built from `<GatehouseProvider watchSession>` and
 * `useUser()` (bundled here with esbuild) warns before the idle timeout from Gatehouse's session
 * events, takes the warning back when the user stays (activity moves the deadline), and renders
 * signed out when the session ends elsewhere.
 */
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { build } from 'esbuild';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { browserUnavailable, launchChromium, signInAtProvider } from '../../../examples/demo/test/support/chromium.js';
import { rawRequest } from '../../gatehouse/test/support/raw-http.js';
import { startStack, type Stack } from '../../gatehouse/test/support/stack.js';

const PAGE = `<!doctype html><title>app</title><div id="root"></div><script type="module" src="/app.js"></script>`;
const APP = `
import { createRoot } from 'react-dom/client';
import { GatehouseProvider, useUser } from '@gatehouse/client/react';

function Status() {
  const { status, user, endingSoon, refresh } = useUser();
  return (
    <main>
      <p id="status">{status}{user ? ' as ' + user.sub : ''}</p>
      {endingSoon && (
        <p role="alert">
          Your session ends soon ({endingSoon.reason}).{' '}
          <button onClick={() => void refresh()}>Stay signed in</button>
        </p>
      )}
    </main>
  );
}

createRoot(document.getElementById('root')).render(
  <GatehouseProvider watchSession><Status /></GatehouseProvider>,
);
`;

describe('@gatehouse/client/react in Chromium', { skip: browserUnavailable() }, () => {
  let stack: Stack;
  let browser: Browser;
  let bundle: string;
  before(async () => {
    // Idle after 8 s, warned 4 s before: the warning comes about 4 s after the last activity.
    stack = await startStack({
      gatehouse: (d) => ({ ...d, session: { ...d.session!, idleTimeout: '8s', endingSoon: '4s' } }),
    });
    browser = await launchChromium();
    const built = await build({
      stdin: { contents: APP, loader: 'tsx', resolveDir: fileURLToPath(new URL('.', import.meta.url)) },
      bundle: true,
      write: false,
      format: 'esm',
      jsx: 'automatic',
      define: { 'process.env.NODE_ENV': '"production"' },
      logLevel: 'silent',
    });
    bundle = built.outputFiles[0]!.text;
  });
  after(async () => {
    await browser?.close();
    await stack?.close();
  });

  async function signedIn(): Promise<{ context: BrowserContext; page: Page }> {
    const context = await browser.newContext();
    // The later route is asked first: /app.js is the bundle, the rest of /app* the page.
    await context.route(`${stack.app}/app*`, (route) => route.fulfill({ contentType: 'text/html', body: PAGE }));
    await context.route(`${stack.app}/app.js`, (route) =>
      route.fulfill({ contentType: 'text/javascript', body: bundle }),
    );
    const page = await context.newPage();
    await page.goto(`${stack.app}/api/auth/login?returnTo=%2Fapp`);
    await signInAtProvider(page, 'alice');
    await page.waitForURL(`${stack.app}/app`);
    // The end of a redirect chain is not routed (it met Gatehouse, which serves no /app): load it again.
    await page.goto(`${stack.app}/app`);
    await page.getByText('authenticated as alice').waitFor();
    return { context, page };
  }

  it('warns before the idle timeout, and takes the warning back when the user stays', async () => {
    const { context, page } = await signedIn();
    try {
      const warning = page.getByRole('alert');
      assert.equal(await warning.count(), 0, 'not yet');
      await warning.waitFor({ timeout: 8_000 });
      assert.match(await warning.innerText(), /ends soon \(idle\)/);
      await page.getByRole('button', { name: 'Stay signed in' }).click();
      await warning.waitFor({ state: 'detached', timeout: 3_000 });
      await page.getByText('authenticated as alice').waitFor();
    } finally {
      await context.close();
    }
  });

  it('renders signed out when the session ends elsewhere', async () => {
    const { context, page } = await signedIn();
    try {
      const cookie = (await context.cookies(stack.app)).map((c) => `${c.name}=${c.value}`).join('; ');
      const logout = await rawRequest(stack.app, '/api/auth/logout', {
        method: 'POST',
        headers: { cookie, 'x-csrf': '1', 'sec-fetch-site': 'same-origin' },
      });
      assert.equal(logout.status, 200);
      await page.getByText('anonymous').waitFor({ timeout: 3_000 });
    } finally {
      await context.close();
    }
  });
});
