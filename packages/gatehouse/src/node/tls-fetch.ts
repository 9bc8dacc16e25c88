/**
 * Node's connections to the provider with a TLS client certificate or extra CAs: undici's fetch over
 * an Agent that presents them (the fetch runtimes have no such connections).
 */
import { Agent, fetch as undiciFetch } from 'undici';
import type { TlsFetchFactory } from '../oidc/client-identity.js';

export const undiciTlsFetch: TlsFetchFactory = (tls) => {
  const agent = new Agent({ connect: tls });
  return {
    fetch: ((url: string, options: RequestInit = {}) =>
      undiciFetch(url, { ...(options as object), dispatcher: agent })) as unknown as typeof fetch,
    close: () => agent.close(),
  };
};
