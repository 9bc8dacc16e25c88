/**
 * Certificates for TLS connections Gatehouse makes: the client certificate of mutual TLS (RFC 8705)
 * and extra trusted CAs. Read once at boot; problems name the configuration key.
 */
import { createHash, createPrivateKey, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { rootCertificates } from 'node:tls';
import type { JWK } from 'jose';

export interface ClientCertificate {
  /** PEM chain, leaf first. */
  cert: string;
  key: string;
  leaf: X509Certificate;
}

/** undici/tls connect options for a connection that trusts `caFile` (plus the system CAs) and presents `client`. */
export interface TlsConnectOptions {
  ca?: string[];
  cert?: string;
  key?: string;
}

export function readPem(file: string, path: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    throw new Error(`${path}: cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? 'error'}`);
  }
}

/** The client certificate and its key; throws with a message naming the key path when they are unusable. */
export function readClientCertificate(files: { certFile: string; keyFile: string }, path: string): ClientCertificate {
  const cert = readPem(files.certFile, `${path}.certFile`);
  const key = readPem(files.keyFile, `${path}.keyFile`);
  let leaf: X509Certificate;
  try {
    leaf = new X509Certificate(cert);
  } catch {
    throw new Error(`${path}.certFile: expected a PEM certificate`);
  }
  let privateKey;
  try {
    privateKey = createPrivateKey(key);
  } catch {
    throw new Error(`${path}.keyFile: expected a PEM private key`);
  }
  if (!leaf.checkPrivateKey(privateKey))
    throw new Error(`${path}.keyFile: does not belong to the certificate in certFile`);
  return { cert, key, leaf };
}

/** Connect options trusting the system CAs plus `caFile`, presenting `client` when given. */
export function tlsConnectOptions(
  caFile: string | undefined,
  client: ClientCertificate | undefined,
  path: string,
): TlsConnectOptions {
  const options: TlsConnectOptions = {};
  // A `ca` list replaces Node's default trust store, so keep the system CAs in it.
  if (caFile !== undefined) options.ca = [...rootCertificates, readPem(caFile, `${path}.caFile`)];
  if (client) Object.assign(options, { cert: client.cert, key: client.key });
  return options;
}

/**
 * The certificate as a JWK with x5c and x5t#S256: how a provider that registers the client's JWKS
 * recognises a self-signed client certificate (RFC 8705 §2.2).
 */
export function certificateJwk(client: ClientCertificate): JWK {
  const jwk = client.leaf.publicKey.export({ format: 'jwk' }) as JWK;
  return {
    ...jwk,
    use: 'sig',
    kid: `x5t#S256:${createHash('sha256').update(client.leaf.raw).digest('base64url')}`,
    x5c: [client.leaf.raw.toString('base64')],
    'x5t#S256': createHash('sha256').update(client.leaf.raw).digest('base64url'),
  };
}
