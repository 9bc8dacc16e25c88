/**
 * Authenticated encryption for everything Gatehouse keeps outside its own memory: login
 * transactions and sealed sessions in cookies, session records in Redis. AES-256-GCM from
 * node:crypto, keys derived from the configured secrets with HKDF and a purpose label (so one
 * secret never serves two purposes), and a key id in every sealed value so secrets rotate without
 * invalidating what is already out there: the first secret seals, all of them open.
 *
 * Format: version (1 byte) | key id (4) | IV (12) | ciphertext | GCM tag (16).
 * The caller's `aad` (e.g. the store key a record lives under) is authenticated too, so a sealed
 * value cannot be moved to another place and still open.
 */
import { createCipheriv, createDecipheriv, createHash, hkdfSync, randomBytes } from 'node:crypto';

import { MAIN_APP } from '../config/schema.js';

const VERSION = 1;
const KEY_ID_LENGTH = 4;
const IV_LENGTH = 12;
const TAG_LENGTH = 16;
const HEADER_LENGTH = 1 + KEY_ID_LENGTH + IV_LENGTH;
/** Sealed text longer than this is refused before any decoding: more than a chunked session could hold. */
const MAX_SEALED_TEXT = 32 * 1024;

interface Key {
  id: Buffer;
  secret: Buffer;
}

export class Aead {
  readonly #sealing: Key;
  readonly #opening: Map<string, Buffer>;

  /** @param secrets the first seals; every one opens. @param purpose binds the derived keys to one use. */
  constructor(secrets: readonly string[], purpose: string) {
    if (secrets.length === 0) throw new TypeError('Aead needs at least one secret');
    const keys = secrets.map((secret): Key => {
      const derived = Buffer.from(hkdfSync('sha256', secret, 'gatehouse', `gatehouse ${purpose} v${VERSION}`, 32));
      return { id: createHash('sha256').update(derived).digest().subarray(0, KEY_ID_LENGTH), secret: derived };
    });
    this.#sealing = keys[0]!;
    this.#opening = new Map(keys.map((k) => [k.id.toString('hex'), k.secret]));
  }

  seal(plaintext: Buffer, aad: string): Buffer {
    const iv = randomBytes(IV_LENGTH);
    const cipher = createCipheriv('aes-256-gcm', this.#sealing.secret, iv);
    cipher.setAAD(Buffer.from(aad));
    const header = Buffer.concat([Buffer.of(VERSION), this.#sealing.id, iv]);
    return Buffer.concat([header, cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]);
  }

  /**
   * What tells one sealing from every other: the version, the key id and the random IV. Two sealed
   * values with the same header are the same value (an IV is never used twice).
   */
  static headerOf(sealed: Uint8Array): Uint8Array {
    return sealed.subarray(0, HEADER_LENGTH);
  }

  /** The plaintext, or undefined for anything tampered, truncated, moved (other aad) or sealed with an unknown key. */
  open(sealed: Buffer, aad: string): Buffer | undefined {
    if (sealed.length < HEADER_LENGTH + TAG_LENGTH || sealed[0] !== VERSION) return undefined;
    const secret = this.#opening.get(sealed.subarray(1, 1 + KEY_ID_LENGTH).toString('hex'));
    if (!secret) return undefined;
    try {
      const decipher = createDecipheriv('aes-256-gcm', secret, sealed.subarray(1 + KEY_ID_LENGTH, HEADER_LENGTH));
      decipher.setAAD(Buffer.from(aad));
      decipher.setAuthTag(sealed.subarray(sealed.length - TAG_LENGTH));
      return Buffer.concat([
        decipher.update(sealed.subarray(HEADER_LENGTH, sealed.length - TAG_LENGTH)),
        decipher.final(),
      ]);
    } catch {
      return undefined;
    }
  }

  /** seal() for JSON values with an expiry, as base64url text (for cookies). */
  sealJson(value: unknown, aad: string, ttlMs: number): string {
    const payload = JSON.stringify({ exp: Date.now() + ttlMs, value });
    return this.seal(Buffer.from(payload), aad).toString('base64url');
  }

  /** open() for sealJson(); undefined when invalid, expired or larger than any cookie. */
  openJson(sealed: string, aad: string): unknown {
    return this.openJsonWithExpiry(sealed, aad)?.value;
  }

  /** openJson(), with the expiry (epoch ms) the value was sealed with. */
  openJsonWithExpiry(sealed: string, aad: string): { value: unknown; exp: number } | undefined {
    if (sealed.length > MAX_SEALED_TEXT) return undefined;
    const plaintext = this.open(Buffer.from(sealed, 'base64url'), aad);
    if (!plaintext) return undefined;
    try {
      const { exp, value } = JSON.parse(plaintext.toString()) as { exp: number; value: unknown };
      return typeof exp === 'number' && Date.now() < exp ? { value, exp } : undefined;
    } catch {
      return undefined;
    }
  }
}

/**
 * The purpose label of `app`'s keys: each app of a process seals with keys of its own, so nothing
 * one app sealed (a cookie session, a login transaction) opens in another, even with the same
 * secrets and cookie name. The main app keeps the plain label (what Gatehouse has always used).
 */
export function appPurpose(purpose: string, app: string): string {
  return app === MAIN_APP ? purpose : `${purpose} app:${app}`;
}
