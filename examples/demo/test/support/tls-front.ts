/**
 * TLS in front of the demo, as a load balancer or CDN terminates it in production: an HTTPS server
 * on localhost (certificate from the tests' own CA) that passes every request, Host included, to
 * Gatehouse's plain port. Browsers reach the demo as https://localhost:<port>.
 */
import { request as httpRequest } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { createTestPki, type TestPki } from '../../../../packages/gatehouse/test/support/certificates.js';
import { freePort } from '../../../../packages/gatehouse/test/support/stack.js';

export interface TlsFront {
  url: string;
  port: number;
  pki: TestPki;
  close(): Promise<void>;
}

/** Forwards to Gatehouse on `targetPort` (of 127.0.0.1). */
export async function startTlsFront(targetPort: number, pki = createTestPki()): Promise<TlsFront> {
  const server: Server = createServer({ key: pki.server.key, cert: pki.server.cert }, (req, res) => {
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
