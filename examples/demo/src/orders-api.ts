/**
 * The demo's internal "orders" API; internal-api.ts checks its callers' access tokens.
 *   GET  /orders          the caller's orders
 *   GET  /orders/:id      one order (404 when it is someone else's)
 *   POST /orders          echo a new order back (shows request bodies streaming through)
 *   GET  /orders/live     server-sent events: order status updates
 */
import type { ServerResponse } from 'node:http';
import { json, startInternalApi, type InternalApi, type InternalApiOptions } from './internal-api.js';

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

export type OrdersApi = InternalApi;

export function startOrdersApi(options: InternalApiOptions): Promise<OrdersApi> {
  return startInternalApi(options, async (req, res, { sub, path }) => {
    const mine = ORDERS.filter((o) => o.customerId === sub);
    if (req.method === 'GET' && (path === '/orders' || path === '/orders/')) return json(res, 200, { orders: mine });
    if (req.method === 'GET' && path === '/orders/live') return live(res, mine);
    if (req.method === 'POST' && path === '/orders') {
      let body = '';
      for await (const chunk of req) body += chunk;
      return json(res, 201, { received: JSON.parse(body || '{}'), customerId: sub });
    }
    const one = /^\/orders\/([A-Za-z0-9-]+)$/.exec(path);
    if (req.method === 'GET' && one) {
      const found = mine.find((o) => o.id === one[1]);
      return found ? json(res, 200, found) : json(res, 404, { error: 'not_found' });
    }
    json(res, 404, { error: 'not_found' });
  });
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
