/**
 * One upstream as the proxy and the extension clients see it: where it is (origin and base path),
 * how a credential is put on a request to it (Bearer, or DPoP with a fresh proof for exactly that
 * method and URL and the upstream's latest nonce), and the transport that carries the request
 * (transport.ts: undici on Node, fetch elsewhere).
 */
import { asksForNonce } from '../tokens/dpop.js';
import type { Credential } from '../tokens/token-manager.js';
import type { Answer, ForwardRequest, UpstreamTransport } from './transport.js';

export class Upstream {
  readonly basePath: string;
  readonly origin: string;
  /** The nonce this upstream last asked DPoP proofs to carry (RFC 9449 §9). */
  #dpopNonce: string | undefined;

  constructor(
    baseUrl: string,
    readonly transport: UpstreamTransport,
  ) {
    const url = new URL(baseUrl);
    this.basePath = url.pathname.replace(/\/$/, '');
    this.origin = url.origin;
  }

  /**
   * Sets the credential on a request to this upstream: `Bearer` at once, or for a DPoP-bound token
   * `DPoP` with a fresh proof for exactly this method and URL (and the upstream's latest nonce),
   * whose signature is a promise to await.
   */
  authorize(forward: ForwardRequest, credential: Credential | undefined): Promise<void> | undefined {
    if (!credential) return undefined;
    const { accessToken } = credential.token;
    // token_type is case-insensitive (RFC 6749 §5.1); send the canonical scheme.
    if (!credential.dpop) {
      forward.headers.authorization = `Bearer ${accessToken}`;
      return undefined;
    }
    const queryAt = forward.path.indexOf('?');
    const htu = this.origin + (queryAt === -1 ? forward.path : forward.path.slice(0, queryAt));
    forward.headers.authorization = `DPoP ${accessToken}`;
    return credential.dpop.proof(forward.method, htu, accessToken, this.#dpopNonce).then((proof) => {
      forward.headers.dpop = proof;
    });
  }

  /**
   * Notes the nonce an answer carries (RFC 9449 §9: any answer may bring a new one). True when the
   * answer was a `use_dpop_nonce` challenge, so the call is worth one retry with a new proof.
   */
  tookNonce(answer: Answer): boolean {
    const nonce = answer.headers['dpop-nonce'];
    if (typeof nonce !== 'string') return false;
    this.#dpopNonce = nonce;
    return answer.status === 401 && asksForNonce(answer.headers);
  }

  close(): Promise<void> {
    return this.transport.close();
  }
}
