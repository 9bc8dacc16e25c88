/**
 * `@gatehouse/client/react`: the signed-in user as React state.
 *
 *   <GatehouseProvider>            loads the user once, tracks sign-out and ended sessions
 *     <RequireAuth>                renders its children only for a signed-in user
 *       useUser()                  { status, user, login, logout, refresh, endingSoon }
 */
import { createContext, useCallback, useContext, useEffect, useMemo, useState, type ReactNode } from 'react';
import { GatehouseClient, type GatehouseClientOptions, type GatehouseUser, type LoginOptions } from './client.js';
import type { SessionEndingSoonDetail } from './session-watch.js';

export type UserStatus = 'loading' | 'authenticated' | 'anonymous' | 'error';

export interface UserState {
  status: UserStatus;
  /** The signed-in user; `null` unless `status` is `authenticated`. */
  user: GatehouseUser | null;
  /** Why the user could not be loaded (`status` is `error`): Gatehouse or the network failed. */
  error: Error | null;
  client: GatehouseClient;
  login(returnTo?: string, options?: LoginOptions): void;
  logout(): Promise<void>;
  /** Loads the user again (after an error, or to slide the session). */
  refresh(): Promise<void>;
  /** Set while the session is about to end (from Gatehouse's session events); null otherwise. */
  endingSoon: SessionEndingSoonDetail | null;
}

const GatehouseContext = createContext<UserState | null>(null);

export interface GatehouseProviderProps {
  /** A client to share with code outside React; one is created from `options` otherwise. */
  client?: GatehouseClient;
  options?: GatehouseClientOptions;
  /**
   * Follow the session while signed in (ended elsewhere, ending soon, user changed): one
   * long-lived request per tab (over HTTP/1.1, one of the browser's six connections to the
   * origin), so it is opt-in. Default false.
   */
  watchSession?: boolean;
  children?: ReactNode;
}

type Loaded = Pick<UserState, 'status' | 'user' | 'error'>;

export function GatehouseProvider({
  client: given,
  options,
  watchSession = false,
  children,
}: GatehouseProviderProps): ReactNode {
  // The client lives as long as the provider; later changes to `options` are ignored on purpose.
  const [client] = useState(() => given ?? new GatehouseClient(options));
  const [loaded, setLoaded] = useState<Loaded>({ status: 'loading', user: null, error: null });

  const refresh = useCallback(async () => {
    try {
      const user = await client.getUser();
      setLoaded({ status: user ? 'authenticated' : 'anonymous', user, error: null });
    } catch (error) {
      setLoaded({ status: 'error', user: null, error: error as Error });
    }
  }, [client]);

  useEffect(() => {
    void refresh();
    return client.onSessionEnded(() => setLoaded({ status: 'anonymous', user: null, error: null }));
  }, [client, refresh]);

  const [endingSoon, setEndingSoon] = useState<SessionEndingSoonDetail | null>(null);
  const signedIn = loaded.status === 'authenticated';
  useEffect(() => {
    if (!watchSession || !signedIn) return;
    const stop = client.watchSession();
    const onUser = (event: Event) => {
      const claims = (event as CustomEvent<Record<string, unknown>>).detail;
      setLoaded((now) => (now.user ? { ...now, user: { ...now.user, ...claims } as GatehouseUser } : now));
    };
    const onUpdate = (event: Event) => {
      const { sessionExpiresAt } = (event as CustomEvent<{ sessionExpiresAt: string }>).detail;
      // Activity moved the deadline past the one warned about: no longer ending soon.
      setEndingSoon((now) => (now && Date.parse(sessionExpiresAt) > now.at.getTime() ? null : now));
    };
    const stopWarning = client.onSessionEndingSoon(setEndingSoon);
    client.addEventListener('userchanged', onUser);
    client.addEventListener('sessionupdate', onUpdate);
    return () => {
      stop();
      stopWarning();
      client.removeEventListener('userchanged', onUser);
      client.removeEventListener('sessionupdate', onUpdate);
      setEndingSoon(null);
    };
  }, [client, watchSession, signedIn]);

  const login = useCallback((returnTo?: string, options?: LoginOptions) => client.login(returnTo, options), [client]);
  const logout = useCallback(() => client.logout(), [client]);
  const value = useMemo<UserState>(
    () => ({ ...loaded, client, refresh, login, logout, endingSoon }),
    [loaded, client, refresh, login, logout, endingSoon],
  );
  return <GatehouseContext.Provider value={value}>{children}</GatehouseContext.Provider>;
}

/** The user and the actions around them. Must be used inside `<GatehouseProvider>`. */
export function useUser(): UserState {
  const state = useContext(GatehouseContext);
  if (!state) throw new Error('useUser() must be used inside <GatehouseProvider>');
  return state;
}

/** The provider's client, for API calls: `useGatehouse().fetchJson('/api/orders')`. */
export function useGatehouse(): GatehouseClient {
  return useUser().client;
}

export interface RequireAuthProps {
  children?: ReactNode;
  /** Shown while the user is loading (default: nothing). */
  loading?: ReactNode;
  /**
   * Shown to a signed-out user. Without it, the user is sent to sign in and comes back to this
   * page.
   */
  fallback?: ReactNode;
  /** Shown when the user could not be loaded (default: `fallback`, else nothing). */
  error?: ReactNode;
}

/** Renders `children` only for a signed-in user. */
export function RequireAuth({ children, loading = null, fallback, error }: RequireAuthProps): ReactNode {
  const { status, login } = useUser();
  const redirect = status === 'anonymous' && fallback === undefined;
  useEffect(() => {
    if (redirect) login();
  }, [redirect, login]);

  switch (status) {
    case 'authenticated':
      return children;
    case 'loading':
      return loading;
    case 'error':
      return error ?? fallback ?? null;
    default:
      return fallback ?? null;
  }
}
