import { useUser } from '@gatehouse/client/react';
import { useState } from 'react';
import { Link } from 'react-router';

export function TopBar() {
  const { status, user, login, logout } = useUser();
  const [signingOut, setSigningOut] = useState(false);
  const [problem, setProblem] = useState<string>();

  async function signOut() {
    setSigningOut(true);
    setProblem(undefined);
    try {
      await logout(); // navigates away to the provider's sign-out page
    } catch {
      setSigningOut(false);
      setProblem('Sign-out failed: check your connection and try again.');
    }
  }

  const name = user ? String(user.name ?? user.sub) : '';
  return (
    <header className="topbar">
      <Link className="brand" to="/">
        Northwind <span>Goods</span>
      </Link>
      <div className="account">
        {problem && (
          <span className="inline-error" role="alert">
            {problem}
          </span>
        )}
        {status === 'authenticated' && (
          <>
            <span className="avatar" aria-hidden="true">
              {name.slice(0, 1).toUpperCase()}
            </span>
            <span className="user-name">{name}</span>
            <button className="secondary" onClick={signOut} disabled={signingOut}>
              {signingOut ? 'Signing out…' : 'Sign out'}
            </button>
          </>
        )}
        {status === 'anonymous' && <button onClick={() => login()}>Sign in</button>}
      </div>
    </header>
  );
}
