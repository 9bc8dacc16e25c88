/**
 * What the browser suites attack and look for: an attacker's pages on two other origins, and
 * every token the demo provider issued.
 */
import { createServer, type Server } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { Demo } from '../../src/demo.js';

/** Every token the provider issued, and each JWT's signature alone (enough to identify it). */
export function issuedTokens(demo: Demo): string[] {
  return demo.idp.issuedTokens().flatMap((t) => (t.split('.').length === 3 ? [t, t.split('.')[2]!] : [t]));
}

/**
 * An attacker's pages on two other origins: 127.0.0.1 (another site) and another localhost port
 * (same site, other origin; https with `tls`, for an app served over https). /fetch tries to read the API with the user's cookies; /form posts to it.
 */
export async function startAttackerPages(appUrl: string, tls?: { key: string; cert: string }) {
  const target = `${appUrl}/api/orders`;
  const fetchPage = `<!doctype html><script>
    const tryIt = (label, init) => fetch(${JSON.stringify(target)}, { credentials: 'include', ...init })
      .then((r) => label + ': ' + (r.type === 'opaque' ? 'opaque' : 'read ' + r.status), () => label + ': blocked');
    window.attack = Promise.all([
      tryIt('fetch', {}),
      tryIt('fetch with header', { headers: { 'X-CSRF': '1' } }),
      tryIt('no-cors post', { method: 'POST', mode: 'no-cors', body: '{"evil":true}' }),
    ]);
  </script>`;
  const formPage = (type: string) => `<!doctype html><body>
    <form method="post" action="${target}" enctype="${type}"><input name="evil" value="1"></form>
    <script>document.forms[0].submit()</script></body>`;

  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://attacker');
    res.writeHead(200, { 'content-type': 'text/html' });
    res.end(url.pathname === '/form' ? formPage(url.searchParams.get('type') ?? 'text/plain') : fetchPage);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  // Same site means same scheme too (schemeful same-site): next to an https app, the sibling is https.
  const handler = server.listeners('request')[0] as never;
  const other = tls ? createTlsServer(tls, handler) : createServer(handler);
  await new Promise<void>((resolve) => other.listen(0, 'localhost', resolve));
  const otherPort = (other.address() as AddressInfo).port;
  return {
    crossSite: `http://127.0.0.1:${port}`,
    sameSite: `${tls ? 'https' : 'http'}://localhost:${otherPort}`,
    close: async () => {
      // The browser may still hold a connection open to a page it shows: drop those too.
      await Promise.all(
        [server, other].map((s) => {
          const closed = new Promise((resolve) => s.close(resolve));
          s.closeAllConnections();
          return closed;
        }),
      );
    },
  };
}
