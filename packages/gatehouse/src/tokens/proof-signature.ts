/** What the DPoP proof signer and its signing thread share: the jobs, and how each algorithm signs. */
import { constants, type KeyObject, type SignKeyObjectInput } from 'node:crypto';

export type SignerAlg = 'ES256' | 'PS256' | 'EdDSA';

export interface SignJob {
  key: string;
  alg: SignerAlg;
  jwk: object;
  input: string;
}

export interface SignedBatch {
  id: number;
  signatures: string[];
}

/** The key and signature encoding for an algorithm (ES256: r || s, RFC 7518 §3.4; PS256: PSS). */
export function signerFor(alg: SignerAlg, key: KeyObject): SignKeyObjectInput | KeyObject {
  if (alg === 'ES256') return { key, dsaEncoding: 'ieee-p1363' };
  if (alg === 'PS256') return { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 };
  return key;
}

/** The digest node:crypto signs with (none for EdDSA, which hashes internally). */
export function digestFor(alg: SignerAlg): string | null {
  return alg === 'EdDSA' ? null : 'sha256';
}
