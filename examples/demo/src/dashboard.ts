/**
 * The demo's extension: BFF endpoints shaped for the SPA's screens instead of the raw internal APIs.
 *   GET /api/dashboard                      profile + order summary + recent orders, in one call
 *                                           (?view=mobile or X-Client-Type: mobile: a small payload)
 *   GET /api/customers/:customerId/summary  a customer's order totals, for that customer only
 * Loaded from gatehouse.yaml (`extensions: [./src/dashboard.ts]`; the demo runs under tsx, a
 * production build would list the compiled .js).
 */
import { defineExtension } from 'gatehouse';
import type { Order } from './orders-api.js';
import type { Profile } from './profile-api.js';

export interface OrderSummary {
  orders: number;
  open: number;
  spent: number;
  currency: string;
}

/** What GET /api/dashboard answers (without a view). */
export interface Dashboard {
  profile?: Pick<Profile, 'displayName' | 'tier' | 'points' | 'memberSince'> & { city: string };
  summary?: OrderSummary;
  recentOrders?: Pick<Order, 'id' | 'placedAt' | 'status' | 'total' | 'currency'>[];
  /** The parts that could not be loaded, each { error, message }. */
  errors: { profile?: { error: string; message: string }; orders?: { error: string; message: string } };
}

export default defineExtension({
  name: 'dashboard',
  upstreams: ['orders', 'profile'],
  endpoints: [
    {
      path: '/dashboard',
      authorize: { scopes: ['orders:read'] },
      views: {
        mobile: {
          name: 'profile.displayName',
          tier: 'profile.tier',
          open: 'summary.open',
          recent: { from: 'recentOrders', limit: 3, fields: { id: 'id', status: 'status', total: 'total' } },
          errors: 'errors',
        },
      },
      async handler({ gather, upstreams }): Promise<Dashboard> {
        // Both calls at once, each with its own deadline; either may fail without failing the page.
        const { results, errors } = await gather(
          {
            profile: (signal) => upstreams.profile.get<Profile>('/profile', { signal, timeout: '2s' }),
            orders: (signal) => upstreams.orders.get<{ orders: Order[] }>('/', { signal, timeout: '2s' }),
          },
          { optional: ['profile', 'orders'] },
        );
        const { profile } = results;
        const orders = results.orders?.orders;
        return {
          profile: profile && {
            displayName: profile.displayName,
            tier: profile.tier,
            points: profile.points,
            memberSince: profile.memberSince,
            city: profile.address.city,
          },
          summary: orders && summarize(orders),
          recentOrders: orders
            ?.toSorted((a, b) => b.placedAt.localeCompare(a.placedAt))
            .slice(0, 5)
            .map(({ id, placedAt, status, total, currency }) => ({ id, placedAt, status, total, currency })),
          errors,
        };
      },
    },
    {
      path: '/customers/:customerId/summary',
      authorize: { scopes: ['orders:read'] },
      // Object-level check, before any upstream is called: customers see only their own summary.
      allow: ({ params, user }) => params.customerId === user.sub,
      async handler({ upstreams }): Promise<OrderSummary> {
        return summarize((await upstreams.orders.get<{ orders: Order[] }>('/')).orders);
      },
    },
  ],
});

function summarize(orders: readonly Order[]): OrderSummary {
  return {
    orders: orders.length,
    open: orders.filter((o) => o.status !== 'delivered').length,
    spent: Math.round(orders.reduce((sum, o) => sum + o.total, 0) * 100) / 100,
    currency: orders[0]?.currency ?? 'EUR',
  };
}
