import { useUser } from '@gatehouse/client/react';
import { Link } from 'react-router';
import { useApi, type Dashboard as DashboardData, type PartError } from '../api';
import { Loading, Problem } from '../feedback';
import { count, date, money, month } from '../format';
import { StatusBadge } from './StatusBadge';

/** The signed-in home: profile, order summary and recent orders, from one call to /api/dashboard. */
export function Dashboard() {
  const { user } = useUser();
  const dashboard = useApi<DashboardData>('/api/dashboard');
  const data = dashboard.state === 'ready' ? dashboard.data : undefined;
  const name = data?.profile?.displayName ?? String(user?.given_name ?? user?.name ?? user?.sub ?? '');

  return (
    <>
      <h1 className="page-title">Welcome back, {name}</h1>
      {dashboard.state === 'loading' && <Loading />}
      {dashboard.state === 'failed' && <Problem error={dashboard.error} />}
      {data && (
        <>
          {/* Either part may be missing (its API failed): the other one is still shown. */}
          {data.profile ? (
            <ProfileCard profile={data.profile} />
          ) : (
            <SectionNotice title="Your profile is unavailable." error={data.errors.profile} />
          )}
          {data.summary && data.recentOrders ? (
            <OrdersOverview summary={data.summary} recent={data.recentOrders} />
          ) : (
            <SectionNotice title="Your orders are unavailable." error={data.errors.orders} />
          )}
        </>
      )}
    </>
  );
}

function ProfileCard({ profile }: { profile: NonNullable<DashboardData['profile']> }) {
  return (
    <section className="card profile" aria-label="Your profile">
      <div className="profile-who">
        <span className="avatar large" aria-hidden="true">
          {profile.displayName.slice(0, 1).toUpperCase()}
        </span>
        <div>
          <strong>{profile.displayName}</strong>
          <span className={`status tier ${profile.tier}`}>{profile.tier === 'gold' ? 'Gold' : 'Standard'} member</span>
        </div>
      </div>
      <dl className="facts">
        <div>
          <dt>Points</dt>
          <dd>{count(profile.points)}</dd>
        </div>
        <div>
          <dt>Member since</dt>
          <dd>{month(profile.memberSince)}</dd>
        </div>
        <div>
          <dt>City</dt>
          <dd>{profile.city}</dd>
        </div>
      </dl>
    </section>
  );
}

function OrdersOverview({
  summary,
  recent,
}: {
  summary: NonNullable<DashboardData['summary']>;
  recent: NonNullable<DashboardData['recentOrders']>;
}) {
  if (summary.orders === 0) return <p className="card muted">No orders yet.</p>;
  return (
    <>
      <div className="stats">
        <div className="card stat">
          <span className="muted">Orders</span>
          <strong>{summary.orders}</strong>
        </div>
        <div className="card stat">
          <span className="muted">On their way</span>
          <strong>{summary.open}</strong>
        </div>
        <div className="card stat">
          <span className="muted">Spent</span>
          <strong>{money(summary.spent, summary.currency)}</strong>
        </div>
      </div>
      <section className="card" aria-labelledby="recent-title">
        <h2 id="recent-title" className="section-title">
          Recent orders
        </h2>
        <table aria-labelledby="recent-title">
          <thead>
            <tr>
              <th>Order</th>
              <th className="wide-only">Placed</th>
              <th>Status</th>
              <th className="right">Total</th>
            </tr>
          </thead>
          <tbody>
            {recent.map((o) => (
              <tr key={o.id}>
                <td>
                  <Link to={`/orders/${o.id}`}>#{o.id}</Link>
                </td>
                <td className="wide-only">{date(o.placedAt)}</td>
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

/** A part of the page that could not be loaded, with the reason Gatehouse gave. */
function SectionNotice({ title, error }: { title: string; error?: PartError }) {
  return (
    <p className="notice" role="status">
      <strong>{title}</strong> {error?.message ?? 'Please try again later.'}
    </p>
  );
}
