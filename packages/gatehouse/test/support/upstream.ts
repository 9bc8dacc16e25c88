/**
 * A real upstream HTTP server that records what reached it and answers through a handler the test
 * chooses (default: echo what it received as JSON).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ReceivedRequest {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: string;
  bytes: Buffer;
}

export type UpstreamHandler = (req: IncomingMessage, res: ServerResponse, body: string) => void | Promise<void>;

export interface TestUpstream {
  url: string;
  received: ReceivedRequest[];
  /** The HTTP server, for tests that add to it (e.g. WebSocket upgrades). */
  server: Server;
  /** Replaces the handler for the following requests. */
  handle(handler: UpstreamHandler): void;
  close(): Promise<void>;
}

/** Echoes the request line and body (not the headers: those carry the token; tests read `received`). */
export const echo: UpstreamHandler = (req, res, body) => {
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ method: req.method, url: req.url, body }));
};

export async function startUpstream(): Promise<TestUpstream> {
  let handler: UpstreamHandler = echo;
  const received: ReceivedRequest[] = [];
  const server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const bytes = Buffer.concat(chunks);
    const body = bytes.toString('utf8');
    received.push({ method: req.method!, url: req.url!, headers: req.headers, body, bytes });
    try {
      await handler(req, res, body);
    } catch {
      res.destroy();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    received,
    server,
    handle: (next) => {
      handler = next;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
