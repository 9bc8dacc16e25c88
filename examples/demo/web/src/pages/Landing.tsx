import { useUser } from '@gatehouse/client/react';

export function Landing() {
  const { login } = useUser();
  return (
    <section className="card hero">
      <p className="eyebrow">Northwind Goods</p>
      <h1>Your orders, one click away</h1>
      <p className="muted">Sign in to see what you ordered, where it is, and when it arrives.</p>
      <button className="large" onClick={() => login('/')}>
        Sign in to your account
      </button>
    </section>
  );
}
