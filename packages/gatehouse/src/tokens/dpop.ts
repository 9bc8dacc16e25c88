/**
 * DPoP (RFC 9449): the key a session's tokens are bound to, and the proofs that show possession.
 *
 * Each session gets its own key pair, generated when sign-in starts and kept (private half
 * included) in the sealed session, so every instance can sign for it. At the provider, openid-client
 * sends the proofs (token and PAR endpoints, with its own nonce handling). Towards upstreams,
 * Gatehouse signs one proof per call here, on the hot path. node:crypto signs it on libuv's thread
 * pool: the event loop spends about a third of what a synchronous signature (or WebCrypto's
 * argument checks, or jose's JWT builder on top) would cost it, so the compact JWS around the
 * signature is assembled here: a header fixed per key, RFC 7515 encoding, and tests that verify
 * every proof with jose. `ath` is cached per access token. (A signing thread fed in batches cost the
 * event loop less still, but measured no faster in bench/README.md's dpop1k: it was removed.)
 */
import {
  constants,
  createHash,
  createPrivateKey,
  generateKeyPair,
  randomFillSync,
  sign,
  type KeyObject,
  type SignKeyObjectInput,
} from 'node:crypto';
import { promisify } from 'node:util';
import { calculateJwkThumbprint, importJWK, type CryptoKey, type JWK } from 'jose';
import * as client from 'openid-client';
import { publicOnly } from '../keys/client-keys.js';

const generate = promisify(generateKeyPair);

export type DpopAlg = 'ES256' | 'PS256' | 'EdDSA';

/** Proof lifetime is the verifier's business; `iat` is now, and `jti` is 128 random bits. */
const JTI_BYTES = 16;

export class DpopKey {
  readonly alg: DpopAlg;
  /** The private JWK, as stored in the session. */
  readonly jwk: JWK;
  readonly #publicJwk: JWK;
  readonly id: string;
  /** The private key with its signature encoding (ES256: r || s, RFC 7518 §3.4; PS256: PSS). */
  readonly #signer: SignKeyObjectInput;
  readonly #encodedHeader: string;
  #ath: { token: string; hash: string } | undefined;
  #handle: Promise<client.DPoPHandle> | undefined;

  private constructor(privateKey: KeyObject, alg: DpopAlg) {
    this.alg = alg;
    this.#signer =
      alg === 'ES256'
        ? { key: privateKey, dsaEncoding: 'ieee-p1363' }
        : alg === 'PS256'
          ? { key: privateKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 }
          : { key: privateKey };
    this.jwk = privateKey.export({ format: 'jwk' }) as JWK;
    this.#publicJwk = publicOnly(this.jwk);
    this.id = keyId(this.jwk);
    this.#encodedHeader = base64url(JSON.stringify({ typ: 'dpop+jwt', alg, jwk: this.#publicJwk }));
  }

  /** A new key pair for a new session (off the event loop: an RSA key takes a while). */
  static async generate(alg: DpopAlg): Promise<DpopKey> {
    const { privateKey } =
      alg === 'ES256'
        ? await generate('ec', { namedCurve: 'P-256' })
        : alg === 'PS256'
          ? await generate('rsa', { modulusLength: 2048 })
          : await generate('ed25519');
    return remember(new DpopKey(privateKey, alg));
  }

  /** The key a session stored; the same object for the same key while it is in use (cached). */
  static fromJwk(jwk: JWK): DpopKey {
    const known = recent.get(keyId(jwk));
    if (known) return remember(known);
    const alg: DpopAlg = jwk.kty === 'EC' ? 'ES256' : jwk.kty === 'RSA' ? 'PS256' : 'EdDSA';
    return remember(new DpopKey(createPrivateKey({ key: jwk as never, format: 'jwk' }), alg));
  }

  /** The RFC 7638 thumbprint of the public key (`dpop_jkt`, and the `cnf.jkt` of bound tokens). */
  thumbprint(): Promise<string> {
    return calculateJwkThumbprint(this.#publicJwk);
  }

  /**
   * openid-client's handle for this key (it signs proofs at the provider and remembers the
   * provider's nonce): one per key, so a session's nonce is remembered between its refreshes.
   */
  handle(configuration: client.Configuration): Promise<client.DPoPHandle> {
    this.#handle ??= (async () => {
      const privateKey = (await importJWK(this.jwk, this.alg, { extractable: false })) as CryptoKey;
      const publicKey = (await importJWK(this.#publicJwk, this.alg, { extractable: true })) as CryptoKey;
      return client.getDPoPHandle(configuration, { privateKey, publicKey });
    })();
    return this.#handle;
  }

  /** A proof for one call: `htu` is the target URL without query or fragment (RFC 9449 §4.2). */
  proof(htm: string, htu: string, accessToken: string | undefined, nonce: string | undefined): Promise<string> {
    const claims: Record<string, string | number> = {
      jti: nextJti(),
      htm,
      htu,
      iat: Math.floor(Date.now() / 1000),
    };
    if (accessToken !== undefined) claims.ath = this.#accessTokenHash(accessToken);
    if (nonce !== undefined) claims.nonce = nonce;
    const input = `${this.#encodedHeader}.${base64url(JSON.stringify(claims))}`;
    return new Promise((resolve, reject) => {
      // With a callback, node:crypto signs on the thread pool.
      sign(this.alg === 'EdDSA' ? null : 'sha256', Buffer.from(input), this.#signer, (error, signature) =>
        error ? reject(error) : resolve(`${input}.${signature.toString('base64url')}`),
      );
    });
  }

  #accessTokenHash(token: string): string {
    if (this.#ath?.token !== token) {
      this.#ath = { token, hash: createHash('sha256').update(token).digest('base64url') };
    }
    return this.#ath.hash;
  }
}

/** Imported keys of recently active sessions: parsing a JWK per request would cost more than signing. */
const MAX_CACHED_KEYS = 10_000;
const recent = new Map<string, DpopKey>();

const keyId = (jwk: JWK) => jwk.x ?? jwk.n ?? '';

/** Puts `key` last in the cache (most recently used), dropping the least recently used past the limit. */
function remember(key: DpopKey): DpopKey {
  const { id } = key;
  recent.delete(id);
  if (recent.size >= MAX_CACHED_KEYS) recent.delete(recent.keys().next().value!);
  recent.set(id, key);
  return key;
}

/** Random bytes drawn in blocks: one call to the CSPRNG per 256 proofs instead of one each. */
const jtiPool = Buffer.alloc(JTI_BYTES * 256);
let jtiOffset = jtiPool.length;

function nextJti(): string {
  if (jtiOffset === jtiPool.length) {
    randomFillSync(jtiPool);
    jtiOffset = 0;
  }
  const jti = jtiPool.toString('base64url', jtiOffset, jtiOffset + JTI_BYTES);
  jtiOffset += JTI_BYTES;
  return jti;
}

function base64url(text: string): string {
  return Buffer.from(text).toString('base64url');
}

/** Whether a token must be presented with DPoP (token_type is case-insensitive, RFC 9449 §5). */
export function isDpopBound(tokenType: string | undefined): boolean {
  return tokenType !== undefined && tokenType.toLowerCase() === 'dpop';
}

/** Whether an upstream's 401 asks for a nonce in the proof (`WWW-Authenticate: DPoP error="use_dpop_nonce"`). */
export function asksForNonce(headers: Record<string, string | string[] | undefined>): boolean {
  const challenge = [headers['www-authenticate'] ?? []].flat().join(', ');
  return /\bdpop\b[^]*\berror\s*=\s*"?use_dpop_nonce/i.test(challenge);
}
