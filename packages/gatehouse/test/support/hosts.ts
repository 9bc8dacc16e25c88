/**
 * Host names for tests of several apps: "*.localhost" is loopback (RFC 6761) and browsers resolve it
 * so themselves, but Node's resolver does not. This process's undici (fetch, and TestBrowser's
 * requests) is taught to, so an app at http://shop.localhost:PORT is reached as a browser would.
 */
import { lookup, type LookupAddress, type LookupOptions } from 'node:dns';
import { Agent, setGlobalDispatcher } from 'undici';

type LookupCallback = (error: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

export function resolveLocalhostNames(): void {
  setGlobalDispatcher(
    new Agent({
      connect: {
        lookup: (hostname: string, options: LookupOptions, callback: LookupCallback) =>
          lookup(hostname.endsWith('.localhost') ? '127.0.0.1' : hostname, options, callback as never),
      },
    }),
  );
}
