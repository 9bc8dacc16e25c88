/**
 * Gatehouse's own keys: the private keys it signs with (private_key_jwt client assertions, request
 * objects) and decrypts with (JARM, encrypted ID tokens), read from PEM or JWK and checked once at
 * boot; and the public JWKS a provider registers by jwks_uri. Private parts leave this module only
 * as key objects, never as text.
 */
import { createHash, createPrivateKey, createPublicKey, X509Certificate, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { calculateJwkThumbprint, importJWK, type CryptoKey, type JWK } from 'jose';

export type KeyUse = 'sig' | 'enc';

/** A key entry as configured: a file or the key itself (PEM or JWK JSON), an optional kid and alg. */
export interface KeyEntry {
  file?: string;
  key?: string;
  kid?: string;
  alg?: string;
  /** A certificate for the key (PEM file). */
  certFile?: string;
}

export interface ClientKey {
  kid: string;
  alg: string;
  use: KeyUse;
  privateKey: KeyObject;
  /** The public half, with kid, alg and use (and x5c, x5t#S256 with a certificate): what the JWKS serves. */
  publicJwk: JWK;
  /** With a certificate: the header members naming it in what this key signs (RFC 7515 §4.1.7-8). */
  certificateHeader?: { x5t: string; 'x5t#S256': string };
}

/** The public members of each key type; everything else in a JWK is private or metadata. */
const PUBLIC_MEMBERS: Record<string, readonly string[]> = {
  RSA: ['kty', 'n', 'e'],
  EC: ['kty', 'crv', 'x', 'y'],
  OKP: ['kty', 'crv', 'x'],
};

/** Smallest RSA modulus accepted (FAPI 2.0 §5.4.1; RFC 7518 §3.3). */
const MIN_RSA_BITS = 2048;

interface ReadKey {
  privateKey: KeyObject;
  alg: string;
  /** Public members only, no kid/alg/use yet. */
  jwk: JWK;
  certificate?: X509Certificate;
}

/**
 * Reads one key entry and settles its algorithm; throws an Error whose message says what is wrong
 * (config loading turns it into a problem naming the key path).
 */
export function readKey(entry: KeyEntry, use: KeyUse, defaultRsaSigningAlg: 'RS256' | 'PS256'): ReadKey {
  const text = entry.file === undefined ? entry.key! : readKeyFile(entry.file);
  const privateKey = parsePrivateKey(text);
  const alg = entry.alg ?? defaultAlg(privateKey, use, defaultRsaSigningAlg);
  checkAlgFitsKey(privateKey, alg, use);
  const full = createPublicKey(privateKey).export({ format: 'jwk' }) as Record<string, unknown>;
  const jwk = Object.fromEntries(PUBLIC_MEMBERS[full.kty as string]!.map((name) => [name, full[name]])) as JWK;
  return {
    privateKey,
    alg,
    jwk,
    certificate: entry.certFile ? readCertificate(entry.certFile, privateKey) : undefined,
  };
}

function readCertificate(file: string, privateKey: KeyObject): X509Certificate {
  let certificate: X509Certificate;
  try {
    certificate = new X509Certificate(readKeyFile(file));
  } catch (error) {
    throw new Error(
      (error as Error).message.startsWith('cannot read')
        ? (error as Error).message
        : `${file} is not a PEM certificate`,
    );
  }
  if (!certificate.checkPrivateKey(privateKey)) throw new Error(`the certificate in ${file} is not for this key`);
  return certificate;
}

/** Every configured key, read and named (kid: the configured one, the JWK's own, else the RFC 7638 thumbprint). */
export async function loadClientKeys(
  entries: readonly KeyEntry[],
  use: KeyUse,
  defaultRsaSigningAlg: 'RS256' | 'PS256',
): Promise<ClientKey[]> {
  return Promise.all(
    entries.map(async (entry) => {
      const { privateKey, alg, jwk, certificate } = readKey(entry, use, defaultRsaSigningAlg);
      const kid = entry.kid ?? ownKid(entry) ?? (await calculateJwkThumbprint(jwk));
      if (!certificate) return { kid, alg, use, privateKey, publicJwk: { ...jwk, kid, alg, use } };
      const certificateHeader = {
        x5t: createHash('sha1').update(certificate.raw).digest('base64url'),
        'x5t#S256': createHash('sha256').update(certificate.raw).digest('base64url'),
      };
      const publicJwk = { ...jwk, kid, alg, use, x5c: [certificate.raw.toString('base64')], ...certificateHeader };
      return { kid, alg, use, privateKey, publicJwk, certificateHeader };
    }),
  );
}

/** The WebCrypto form of a key, which openid-client's signing and decryption need. */
export async function cryptoKey(key: ClientKey): Promise<CryptoKey> {
  const jwk = key.privateKey.export({ format: 'jwk' }) as JWK;
  return (await importJWK(jwk, key.alg, { extractable: false })) as CryptoKey;
}

/** Problems with key entries, for config validation: one line per entry, naming `path[i]`. */
export function keyProblems(
  entries: readonly KeyEntry[],
  use: KeyUse,
  path: string,
  options: { defaultRsaSigningAlg: 'RS256' | 'PS256'; allowedAlgs?: readonly string[] },
): string[] {
  const problems: string[] = [];
  const kids = new Set<string>();
  entries.forEach((entry, i) => {
    try {
      const { alg } = readKey(entry, use, options.defaultRsaSigningAlg);
      if (options.allowedAlgs && !options.allowedAlgs.includes(alg)) {
        problems.push(
          `${path}[${i}].alg: ${alg} is not allowed by the fapi2 profile (${options.allowedAlgs.join(', ')})`,
        );
      }
    } catch (error) {
      problems.push(`${path}[${i}]: ${(error as Error).message}`);
    }
    const kid = entry.kid ?? safeOwnKid(entry);
    if (kid !== undefined && kids.has(kid)) problems.push(`${path}[${i}].kid: "${kid}" is used by another key`);
    if (kid !== undefined) kids.add(kid);
  });
  return problems;
}

function readKeyFile(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    throw new Error(`cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? 'error'}`);
  }
}

function parsePrivateKey(text: string): KeyObject {
  const trimmed = text.trim();
  try {
    if (trimmed.startsWith('{')) {
      const jwk = JSON.parse(trimmed) as Record<string, unknown>;
      if (jwk.d === undefined) throw new Error('public');
      return createPrivateKey({ key: jwk as never, format: 'jwk' });
    }
    return createPrivateKey(trimmed);
  } catch {
    throw new Error('expected a private key (PEM, or a JWK with its private members)');
  }
}

function defaultAlg(key: KeyObject, use: KeyUse, rsaSigning: 'RS256' | 'PS256'): string {
  if (key.asymmetricKeyType === 'rsa') return use === 'sig' ? rsaSigning : 'RSA-OAEP-256';
  if (key.asymmetricKeyType === 'ec') return use === 'sig' ? 'ES256' : 'ECDH-ES';
  if (key.asymmetricKeyType === 'ed25519' && use === 'sig') return 'EdDSA';
  throw new Error(`a ${key.asymmetricKeyType} key cannot be used to ${use === 'sig' ? 'sign' : 'decrypt'}`);
}

function checkAlgFitsKey(key: KeyObject, alg: string, use: KeyUse): void {
  const type = key.asymmetricKeyType;
  const details = key.asymmetricKeyDetails ?? {};
  const fits =
    type === 'rsa'
      ? use === 'sig'
        ? /^(RS|PS)256$/.test(alg)
        : alg.startsWith('RSA-OAEP')
      : type === 'ec'
        ? use === 'sig'
          ? alg === 'ES256'
          : alg.startsWith('ECDH-ES')
        : type === 'ed25519' && use === 'sig' && alg === 'EdDSA';
  if (!fits) throw new Error(`${alg} does not fit ${KEY_NAMES[type ?? ''] ?? `a ${type}`} key`);
  if (type === 'rsa' && (details.modulusLength ?? 0) < MIN_RSA_BITS) {
    throw new Error(`RSA keys must have at least ${MIN_RSA_BITS} bits (this one has ${details.modulusLength})`);
  }
  if (type === 'ec' && use === 'sig' && details.namedCurve !== 'prime256v1') {
    throw new Error(`ES256 needs a P-256 key (this one is on ${details.namedCurve})`);
  }
}

const KEY_NAMES: Record<string, string> = { rsa: 'an RSA', ec: 'an EC', ed25519: 'an Ed25519' };

function ownKid(entry: KeyEntry): string | undefined {
  const text = entry.file === undefined ? entry.key! : readKeyFile(entry.file);
  if (!text.trim().startsWith('{')) return undefined;
  const kid = (JSON.parse(text) as { kid?: unknown }).kid;
  return typeof kid === 'string' && kid.length > 0 ? kid : undefined;
}

function safeOwnKid(entry: KeyEntry): string | undefined {
  try {
    return ownKid(entry);
  } catch {
    return undefined;
  }
}

/** Keeps only a JWK's public members plus the metadata a JWKS carries; a private member can never slip through. */
export function publicOnly(jwk: JWK): JWK {
  const members = PUBLIC_MEMBERS[jwk.kty ?? ''] ?? [];
  const metadata = ['kid', 'alg', 'use', 'x5c', 'x5t', 'x5t#S256'];
  return Object.fromEntries(
    Object.entries(jwk).filter(([name]) => members.includes(name) || metadata.includes(name)),
  ) as JWK;
}
