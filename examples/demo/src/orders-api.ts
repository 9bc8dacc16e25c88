/**
 * The demo's internal "orders" API. It trusts nothing but a valid access token: a JWT signed by
 * the demo provider, for this API's audience, not expired. It never sees cookies.
 *   GET  /orders          the caller's orders
 *   GET  /orders/:id      one order (404 when it is someone else's)
 *   POST /orders          echo a new order back (shows request bodies streaming through)
 *   GET  /orders/live     server-sent events: order status updates
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRemoteJWKSet, jwtVerify, type JWTPayload } from 'jose';

export interface Order {
  id: string;
  customerId: string;
  placedAt: string;
  status: 'processing' | 'shipped' | 'delivered';
  total: number;
  currency: string;
  items: { sku: string; name: string; quantity: number; price: number }[];
}

const ORDERS: Order[] = [
  order('1001', 'alice', '2026-10-02', 'delivered', [
    ['BK-204', 'Field Notes notebook, 3-pack', 2, 12.5],
    ['PN-11', 'Fountain pen', 1, 48],
  ]),
  order('1002', 'alice', '2026-11-14', 'shipped', [['MG-07', 'Stoneware mug', 2, 18]]),
  order('1003', 'alice', '2026-11-20', 'processing', [
    ['LM-3', 'Desk lamp', 1, 89],
    ['BL-1', 'LED bulb', 2, 7.5],
  ]),
  order('2001', 'bob', '2026-09-18', 'delivered', [['HD-9', 'Noise-cancelling headphones', 1, 199]]),
  order('2002', 'bob', '2026-11-21', 'processing', [['CB-2', 'USB-C cable', 3, 9.9]]),
];

function order(
  id: string,
  customerId: string,
  date: string,
  status: Order['status'],
  lines: [string, string, number, number][],
): Order {
  const items = lines.map(([sku, name, quantity, price]) => ({ sku, name, quantity, price }));
  const total = Math.round(items.reduce((sum, i) => sum + i.quantity * i.price, 0) * 100) / 100;
  return { id, customerId, placedAt: `${date}T10:00:00Z`, status, total, currency: 'EUR', items };
}

export interface OrdersApi {
  url: string;
  /** Every request it received (newest last, at most 1,000): method, path, and whose token it carried. */
  requests: { method: string; path: string; sub: string | undefined }[];
  close(): Promise<void>;
}

export async function startOrdersApi(options: {
  issuer: string;
  audience: string;
  port?: number;
  host?: string;
}): Promise<OrdersApi> {
  const jwks = createRemoteJWKSet(new URL(`${options.issuer}/jwks`));
  const verify = async (req: IncomingMessage): Promise<JWTPayload | undefined> => {
    const match = /^Bearer (.+)$/i.exec(req.headers.authorization ?? '');
    if (!match) return undefined;
    try {
      const { payload } = await jwtVerify(match[1]!, jwks, {
        issuer: options.issuer,
        audience: options.audience,
        typ: 'at+jwt',
      });
      return payload;
    } catch {
      return undefined;
    }
  };

  const requests: OrdersApi['requests'] = [];
  const server = createServer((req, res) => {
    handle(req, res).catch(() => json(res, 500, { error: 'server_error' }));
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const claims = await verify(req);
    requests.push({ method: req.method ?? '', path: req.url ?? '', sub: claims?.sub });
    if (requests.length > 1000) requests.shift();
    if (!claims?.sub) {
      res.setHeader('www-authenticate', 'Bearer error="invalid_token"');
      return json(res, 401, { error: 'invalid_token' });
    }
    const path = (req.url ?? '/').split('?', 1)[0]!;
    const mine = ORDERS.filter((o) => o.customerId === claims.sub);
    if (req.method === 'GET' && (path === '/orders' || path === '/orders/')) return json(res, 200, { orders: mine });
    if (req.method === 'GET' && path === '/orders/live') return live(res, mine);
    if (req.method === 'POST' && path === '/orders') {
      let body = '';
      for await (const chunk of req) body += chunk;
      return json(res, 201, { received: JSON.parse(body || '{}'), customerId: claims.sub });
    }
    const one = /^\/orders\/([A-Za-z0-9-]+)$/.exec(path);
    if (req.method === 'GET' && one) {
      const found = mine.find((o) => o.id === one[1]);
      return found ? json(res, 200, found) : json(res, 404, { error: 'not_found' });
    }
    json(res, 404, { error: 'not_found' });
  }

  await new Promise<void>((resolve) => server.listen(options.port ?? 0, options.host ?? '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${options.host ?? '127.0.0.1'}:${port}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
  res.end(JSON.stringify(body));
}

/** Three status events, one per second: proof that the BFF streams instead of buffering. */
function live(res: ServerResponse, orders: Order[]): void {
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store' });
  let sent = 0;
  const timer = setInterval(() => {
    const o = orders[sent % Math.max(orders.length, 1)];
    res.write(
      `event: status\ndata: ${JSON.stringify({ id: o?.id, status: o?.status, at: new Date().toISOString() })}\n\n`,
    );
    if (++sent === 3) {
      clearInterval(timer);
      res.end();
    }
  }, 1000);
  res.on('close', () => clearInterval(timer));
}
