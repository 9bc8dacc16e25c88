/**
 * TLS towards an upstream: the extra CAs it is configured to trust, and, when tokens are
 * certificate-bound (senderConstraint "mtls", RFC 8705 §3), the client certificate the tokens are
 * bound to, presented on every connection that carries one.
 */
import type { GatehouseConfig } from '../config/load.js';
import type { TokenChoiceConfig } from '../config/schema.js';
import { readClientCertificate, tlsConnectOptions, type TlsConnectOptions } from '../keys/tls-material.js';

export function upstreamTls(
  config: GatehouseConfig,
  upstream: { caFile?: string; token: TokenChoiceConfig },
  path: string,
): TlsConnectOptions | undefined {
  const { tls, senderConstraint } = config.oidc;
  const bound = senderConstraint === 'mtls' && upstream.token !== 'none' && tls?.certFile && tls.keyFile;
  const certificate = bound
    ? readClientCertificate({ certFile: tls.certFile!, keyFile: tls.keyFile! }, 'oidc.tls')
    : undefined;
  const options = tlsConnectOptions(upstream.caFile, certificate, path);
  return Object.keys(options).length > 0 ? options : undefined;
}
