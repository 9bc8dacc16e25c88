import { useUser } from '@gatehouse/client/react';
import { Link } from 'react-router';
import { useApi, type Order } from '../api';
import { Loading, Problem } from '../feedback';
import { date, money } from '../format';
import { StatusBadge } from './StatusBadge';

export function Orders() {
  const { user } = useUser();
  const orders = useApi<{ orders: Order[] }>('/api/orders');
  const firstName = String(user?.given_name ?? user?.name ?? user?.sub ?? '');

  return (
    <>
      <h1 className="page-title">Welcome back, {firstName}</h1>
      {orders.state === 'loading' && <Loading />}
      {orders.state === 'failed' && <Problem error={orders.error} />}
      {orders.state === 'ready' && <OrderList orders={orders.data.orders} />}
    </>
  );
}

function OrderList({ orders }: { orders: Order[] }) {
  if (orders.length === 0) return <p className="card muted">No orders yet.</p>;
  const open = orders.filter((o) => o.status !== 'delivered').length;
  const spent = orders.reduce((sum, o) => sum + o.total, 0);
  return (
    <>
      <div className="stats">
        <div className="card stat">
          <span className="muted">Orders</span>
          <strong>{orders.length}</strong>
        </div>
        <div className="card stat">
          <span className="muted">On their way</span>
          <strong>{open}</strong>
        </div>
        <div className="card stat">
          <span className="muted">Spent</span>
          <strong>{money(spent, orders[0]!.currency)}</strong>
        </div>
      </div>
      <section className="card">
        <table aria-label="Your orders">
          <thead>
            <tr>
              <th>Order</th>
              <th>Placed</th>
              <th>Items</th>
              <th>Status</th>
              <th className="right">Total</th>
            </tr>
          </thead>
          <tbody>
            {orders.map((o) => (
              <tr key={o.id}>
                <td>
                  <Link to={`/orders/${o.id}`}>#{o.id}</Link>
                </td>
                <td>{date(o.placedAt)}</td>
                <td className="muted">{o.items.map((i) => i.name).join(', ')}</td>
                <td>
                  <StatusBadge status={o.status} />
                </td>
                <td className="right">{money(o.total, o.currency)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </section>
    </>
  );
}
