import { Link } from 'react-router';

export function NotFound() {
  return (
    <section className="card hero">
      <h1>Page not found</h1>
      <p className="muted">There is nothing at this address.</p>
      <Link to="/">Back to your orders</Link>
    </section>
  );
}
