/**
 * The provider's DPoP nonces (RFC 9449 §8). A nonce belongs to the server, not to a key: the latest
 * one, noted from any of the provider's answers, goes into every key's next proof there, instead of
 * each session's new key earning its own `use_dpop_nonce` round trip at PAR, token and refresh.
 */
import type * as client from 'openid-client';
import type { DpopKey } from '../tokens/dpop.js';

type Fetch = (url: string, init?: RequestInit) => Promise<Response>;

export class ProviderNonces {
  readonly #byOrigin = new Map<string, string>();

  /** `fetch`, noting the nonce of every answer. */
  noting(fetch: Fetch): Fetch {
    return async (url, init) => {
      const response = await fetch(url, init);
      const nonce = response.headers.get('dpop-nonce');
      if (nonce) this.#byOrigin.set(new URL(url).origin, nonce);
      return response;
    };
  }

  /** openid-client's handle for `key`, told the provider's latest nonces first. */
  async handle(key: DpopKey, configuration: client.Configuration): Promise<client.DPoPHandle> {
    const handle = await key.handle(configuration);
    // oauth4webapi's handles learn nonces from their own answers (`cacheNonce`, outside its typed API:
    // should it go, handles learn by one retry again, as RFC 9449 intends).
    const learning = handle as unknown as { cacheNonce?: (response: Response, url: URL) => void };
    for (const [origin, nonce] of this.#byOrigin) {
      learning.cacheNonce?.(new Response(null, { headers: { 'dpop-nonce': nonce } }), new URL(origin));
    }
    return handle;
  }
}
