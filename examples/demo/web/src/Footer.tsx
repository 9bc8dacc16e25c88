import { useUser } from '@gatehouse/client/react';
import { time } from './format';

export function Footer() {
  const { user } = useUser();
  return (
    <footer className="footer">
      {user && <p>If you are inactive, your session ends at {time(user.gatehouse.sessionExpiresAt)}.</p>}
      <p>Demo app served by Gatehouse · the browser holds one HttpOnly cookie, never a token</p>
    </footer>
  );
}
