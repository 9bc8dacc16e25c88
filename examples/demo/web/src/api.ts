/** The demo API's shapes and a hook that loads one resource through Gatehouse. */
import { HttpError, SessionEndedError } from '@gatehouse/client';
import { useGatehouse } from '@gatehouse/client/react';
import { useEffect, useState } from 'react';

export interface Order {
  id: string;
  placedAt: string;
  status: 'processing' | 'shipped' | 'delivered';
  total: number;
  currency: string;
  items: { sku: string; name: string; quantity: number; price: number }[];
}

/** A part of an aggregated response that could not be loaded; `message` may be shown to the user. */
export interface PartError {
  error: string;
  message: string;
}

export interface OrderSummary {
  orders: number;
  /** Orders not delivered yet. */
  open: number;
  spent: number;
  currency: string;
}

/** GET /api/dashboard (mirrors src/dashboard.ts): either part may be missing, with its entry in `errors`. */
export interface Dashboard {
  profile?: { displayName: string; tier: 'standard' | 'gold'; points: number; memberSince: string; city: string };
  summary?: OrderSummary;
  recentOrders?: Pick<Order, 'id' | 'placedAt' | 'status' | 'total' | 'currency'>[];
  errors: { profile?: PartError; orders?: PartError };
}

export type Loadable<T> =
  { state: 'loading' } | { state: 'ready'; data: T } | { state: 'failed'; error: Error; status?: number };

export function useApi<T>(path: string): Loadable<T> {
  const client = useGatehouse();
  const [result, setResult] = useState<Loadable<T>>({ state: 'loading' });
  useEffect(() => {
    const abort = new AbortController();
    setResult({ state: 'loading' });
    client.fetchJson<T>(path, { signal: abort.signal }).then(
      (data) => setResult({ state: 'ready', data }),
      (error: Error) => {
        // An ended session is handled once, by the provider (the app shows sign-in).
        if (abort.signal.aborted || error instanceof SessionEndedError) return;
        setResult({ state: 'failed', error, status: error instanceof HttpError ? error.status : undefined });
      },
    );
    return () => abort.abort();
  }, [client, path]);
  return result;
}
