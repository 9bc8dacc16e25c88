import { RequireAuth, useUser } from '@gatehouse/client/react';
import { Route, Routes } from 'react-router';
import { Footer } from './Footer';
import { Loading, Problem } from './feedback';
import { Dashboard } from './pages/Dashboard';
import { Landing } from './pages/Landing';
import { NotFound } from './pages/NotFound';
import { OrderDetail } from './pages/OrderDetail';
import { TopBar } from './TopBar';

export function App() {
  return (
    <>
      <TopBar />
      <main className="view">
        <Routes>
          <Route path="/" element={<Home />} />
          <Route
            path="/orders/:id"
            element={
              // A signed-out visitor of a deep link is sent to sign in and comes back here.
              <RequireAuth loading={<Loading />} error={<Problem error="We could not check who you are." />}>
                <OrderDetail />
              </RequireAuth>
            }
          />
          <Route path="*" element={<NotFound />} />
        </Routes>
      </main>
      <Footer />
    </>
  );
}

function Home() {
  const { status, error, refresh } = useUser();
  if (status === 'loading') return <Loading />;
  if (status === 'error') return <Problem error={error} retry={refresh} />;
  return status === 'authenticated' ? <Dashboard /> : <Landing />;
}
