import { StepUpRequiredError } from '@gatehouse/client';
import { useGatehouse } from '@gatehouse/client/react';
import { Link, useParams } from 'react-router';
import { useApi, type Order } from '../api';
import { Loading, Problem } from '../feedback';
import { date, money } from '../format';
import { StatusBadge } from './StatusBadge';

const STEPS: Order['status'][] = ['processing', 'shipped', 'delivered'];

export function OrderDetail() {
  const { id = '' } = useParams();
  // Details go through the step-up route (gatehouse.yaml): they need a recent sign-in.
  const order = useApi<Order>(`/api/order-details/${encodeURIComponent(id)}`);

  return (
    <>
      <p>
        <Link to="/">← Your dashboard</Link>
      </p>
      {order.state === 'loading' && <Loading />}
      {order.state === 'failed' && order.error instanceof StepUpRequiredError && <StepUp need={order.error} />}
      {order.state === 'failed' && !(order.error instanceof StepUpRequiredError) && (
        <Problem error={order.status === 404 ? `Order #${id} was not found in your account.` : order.error} />
      )}
      {order.state === 'ready' && <OrderCard order={order.data} />}
    </>
  );
}

/** Gatehouse said the sign-in is too old for this: sign in again, and come back here. */
function StepUp({ need }: { need: StepUpRequiredError }) {
  const client = useGatehouse();
  const again = () => client.login(undefined, { maxAge: need.maxAge, acrValues: need.acrValues });
  return (
    <section className="card" aria-labelledby="step-up-title">
      <h1 id="step-up-title">Please confirm it's you</h1>
      <p className="muted">Order details need a recent sign-in. Sign in again to see them.</p>
      <button onClick={again}>Sign in again</button>
    </section>
  );
}

function OrderCard({ order }: { order: Order }) {
  const reached = STEPS.indexOf(order.status);
  return (
    <section className="card" aria-labelledby="order-title">
      <div className="order-head">
        <h1 id="order-title">Order #{order.id}</h1>
        <StatusBadge status={order.status} />
      </div>
      <p className="muted">Placed {date(order.placedAt)}</p>
      <ol className="progress" aria-label="Delivery progress">
        {STEPS.map((step, i) => (
          <li key={step} className={i <= reached ? 'done' : ''}>
            {step}
          </li>
        ))}
      </ol>
      <table aria-label="Items">
        <thead>
          <tr>
            <th>Item</th>
            <th>SKU</th>
            <th className="right">Qty</th>
            <th className="right">Amount</th>
          </tr>
        </thead>
        <tbody>
          {order.items.map((item) => (
            <tr key={item.sku}>
              <td>{item.name}</td>
              <td className="muted">{item.sku}</td>
              <td className="right">{item.quantity}</td>
              <td className="right">{money(item.price * item.quantity, order.currency)}</td>
            </tr>
          ))}
        </tbody>
        <tfoot>
          <tr>
            <th colSpan={3}>Total</th>
            <th className="right">{money(order.total, order.currency)}</th>
          </tr>
        </tfoot>
      </table>
    </section>
  );
}
