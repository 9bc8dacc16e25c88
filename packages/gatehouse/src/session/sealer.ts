/**
 * Authenticated encryption of small payloads for cookies: JWE compact, `dir` + A256GCM (jose),
 * with a key id so secrets rotate without invalidating what is already out there. Keys are
 * derived from the configured secrets with HKDF and a purpose label, so the same secret never
 * serves two purposes.
 */
import { createHash, createSecretKey, hkdfSync, type KeyObject } from 'node:crypto';
import { EncryptJWT, jwtDecrypt, type JWTPayload } from 'jose';

interface SealingKey {
  kid: string;
  key: KeyObject;
}

/** The longest sealed value accepted; anything bigger is rejected before any crypto runs. */
export const MAX_SEALED_LENGTH = 4096;

export class Sealer {
  readonly #keys: SealingKey[];
  readonly #byKid: Map<string, KeyObject>;

  /** @param secrets the first seals; every one unseals. @param purpose a label binding keys to one use. */
  constructor(secrets: readonly string[], purpose: string) {
    if (secrets.length === 0) throw new TypeError('Sealer needs at least one secret');
    this.#keys = secrets.map((secret) => {
      const raw = Buffer.from(hkdfSync('sha256', secret, 'gatehouse', `gatehouse ${purpose} v1`, 32));
      const kid = createHash('sha256').update(raw).digest('base64url').slice(0, 8);
      return { kid, key: createSecretKey(raw) };
    });
    this.#byKid = new Map(this.#keys.map((k) => [k.kid, k.key]));
  }

  /** Encrypts `payload`; it can be opened until `ttlMs` from now. */
  async seal(payload: JWTPayload, ttlMs: number): Promise<string> {
    const { kid, key } = this.#keys[0]!;
    const now = Math.floor(Date.now() / 1000);
    return new EncryptJWT(payload)
      .setProtectedHeader({ alg: 'dir', enc: 'A256GCM', kid })
      .setIssuedAt(now)
      .setExpirationTime(now + Math.ceil(ttlMs / 1000))
      .encrypt(key);
  }

  /** Decrypts and checks expiry; `undefined` for anything tampered, expired, oversized or foreign. */
  async unseal(sealed: string): Promise<JWTPayload | undefined> {
    if (sealed.length > MAX_SEALED_LENGTH) return undefined;
    try {
      const { payload } = await jwtDecrypt(
        sealed,
        (header) => {
          const key = header.kid === undefined ? undefined : this.#byKid.get(header.kid);
          if (!key) throw new Error('unknown key id');
          return key;
        },
        {
          keyManagementAlgorithms: ['dir'],
          contentEncryptionAlgorithms: ['A256GCM'],
        },
      );
      return payload;
    } catch {
      return undefined;
    }
  }
}
