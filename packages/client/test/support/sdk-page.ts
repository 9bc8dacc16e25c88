/**
 * Pages that use the SDK as built: in a Chromium context, each app origin serves a blank page at
 * /app and the SDK's dist at /__sdk/, and `inPage` runs code with a client made from it.
 */
import { fileURLToPath } from 'node:url';
import type { Browser, BrowserContext, Page } from 'playwright-core';

const DIST = fileURLToPath(new URL('../../dist/', import.meta.url));
const PAGE = '<!doctype html><title>app</title><p>app</p>';

export async function sdkContext(
  browser: Browser,
  origins: readonly string[],
): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext();
  for (const origin of origins) {
    await context.route(`${origin}/__sdk/**`, (route) =>
      route.fulfill({ path: `${DIST}${new URL(route.request().url()).pathname.slice('/__sdk/'.length)}` }),
    );
    await context.route(`${origin}/app*`, (route) => route.fulfill({ contentType: 'text/html', body: PAGE }));
  }
  return { context, page: await context.newPage() };
}

/** Runs `body` in the page, with `client` the page's one GatehouseClient; resolves to what it returns. */
export const inPage = <T>(page: Page, body: string): Promise<T> =>
  page.evaluate(`(async () => {
    const sdk = await import('/__sdk/index.js');
    const client = window.__client ??= sdk.createGatehouseClient();
    ${body}
  })()`) as Promise<T>;
