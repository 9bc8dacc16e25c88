/**
 * TLS in front of the demo, as a load balancer or CDN terminates it in production: an HTTPS server
 * on localhost (certificate from the tests' own CA) that passes every request, Host included, to
 * Gatehouse's plain port. Browsers reach the demo as https://localhost:<port>. It also serves the
 * browser SDK as built at /__sdk/ (same origin, so the app's CSP lets a page import it), for tests
 * that drive the SDK in the page.
 */
import { createReadStream } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { createTestPki, type TestPki } from '../../../../packages/gatehouse/test/support/certificates.js';
import { freePort } from '../../../../packages/gatehouse/test/support/stack.js';

const SDK = fileURLToPath(new URL('../../../../packages/client/dist/', import.meta.url));

export interface TlsFront {
  url: string;
  port: number;
  pki: TestPki;
  close(): Promise<void>;
}

/** Forwards to Gatehouse on `targetPort` (of 127.0.0.1). */
export async function startTlsFront(targetPort: number, pki = createTestPki()): Promise<TlsFront> {
  const server: Server = createServer({ key: pki.server.key, cert: pki.server.cert }, (req, res) => {
    const sdkFile = /^\/__sdk\/([\w.-]+\.js)$/.exec(req.url ?? '')?.[1];
    if (sdkFile) {
      res.writeHead(200, { 'content-type': 'text/javascript' });
      createReadStream(`${SDK}${sdkFile}`)
        .on('error', () => res.destroy())
        .pipe(res);
      return;
    }
    const forward = httpRequest(
      { host: '127.0.0.1', port: targetPort, method: req.method, path: req.url, headers: req.headers },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.rawHeaders);
        answer.pipe(res);
      },
    );
    forward.on('error', () => res.destroy());
    req.pipe(forward);
  });
  const port = await freePort();
  await new Promise<void>((resolve) => server.listen(port, 'localhost', resolve));
  return {
    url: `https://localhost:${(server.address() as AddressInfo).port}`,
    port,
    pki,
    close: async () => {
      const closed = new Promise((resolve) => server.close(resolve));
      server.closeAllConnections();
      await closed;
    },
  };
}
