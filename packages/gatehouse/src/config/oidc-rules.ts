/**
 * The client's cross-field rules: what each client authentication method and protocol feature
 * needs, and the FAPI 2.0 Security Profile (§5.3.3 client requirements, §5.4 cryptography), whose
 * defaults `profile: fapi2` switches on and whose breaches it refuses, each naming the key.
 */
import { keyProblems } from '../keys/client-keys.js';
import { readClientCertificate, readPem } from '../keys/tls-material.js';
import type { ParsedConfig } from './schema.js';

type ParsedOidc = ParsedConfig['oidc'];

/** The oidc settings with every profile-dependent default settled. */
export type ResolvedOidcSettings = Omit<
  ParsedOidc,
  'clientAuth' | 'pushedAuthorizationRequests' | 'senderConstraint' | 'idTokenSigningAlg'
> & {
  readonly clientAuth: NonNullable<ParsedOidc['clientAuth']>;
  readonly pushedAuthorizationRequests: NonNullable<ParsedOidc['pushedAuthorizationRequests']>;
  readonly senderConstraint: NonNullable<ParsedOidc['senderConstraint']>;
  readonly idTokenSigningAlg: NonNullable<ParsedOidc['idTokenSigningAlg']>;
};

/** FAPI 2.0 §5.4.1: PS256, ES256 and EdDSA only. */
export const FAPI2_ALGS = ['PS256', 'ES256', 'EdDSA'] as const;
const FAPI2_CLIENT_AUTH = ['private_key_jwt', 'tls_client_auth', 'self_signed_tls_client_auth'];
const SECRET_AUTH = ['client_secret_basic', 'client_secret_post'];
const TLS_AUTH = ['tls_client_auth', 'self_signed_tls_client_auth'];

export function resolveOidcDefaults(oidc: ParsedOidc): ResolvedOidcSettings {
  const fapi2 = oidc.profile === 'fapi2';
  return {
    ...oidc,
    clientAuth: oidc.clientAuth ?? (fapi2 ? 'private_key_jwt' : 'client_secret_basic'),
    pushedAuthorizationRequests: oidc.pushedAuthorizationRequests ?? (fapi2 ? 'always' : 'auto'),
    senderConstraint: oidc.senderConstraint ?? (fapi2 ? 'dpop' : 'none'),
    idTokenSigningAlg: oidc.idTokenSigningAlg ?? (fapi2 ? 'PS256' : 'RS256'),
  };
}

export function oidcProblems(oidc: ResolvedOidcSettings): string[] {
  const problems: string[] = [];
  const { clientAuth } = oidc;
  if (SECRET_AUTH.includes(clientAuth) && oidc.clientSecret === undefined) {
    problems.push(`oidc.clientSecret: is required with clientAuth "${clientAuth}"`);
  }
  if (!SECRET_AUTH.includes(clientAuth) && oidc.clientSecret !== undefined) {
    problems.push(`oidc.clientSecret: not used with clientAuth "${clientAuth}"; remove it`);
  }
  if (clientAuth === 'private_key_jwt' && oidc.signingKeys.length === 0) {
    problems.push('oidc.signingKeys: at least one key is required with clientAuth "private_key_jwt"');
  }
  if (oidc.requestObject === 'always' && oidc.signingKeys.length === 0) {
    problems.push('oidc.signingKeys: at least one key is required with requestObject "always"');
  }
  if (oidc.requestObjectEncryption && oidc.requestObject === 'never') {
    problems.push('oidc.requestObjectEncryption: needs request objects; requestObject is "never"');
  }
  const needsCertificate = TLS_AUTH.includes(clientAuth) || oidc.senderConstraint === 'mtls';
  if (needsCertificate && (!oidc.tls?.certFile || !oidc.tls.keyFile)) {
    const why = TLS_AUTH.includes(clientAuth) ? `clientAuth "${clientAuth}"` : 'senderConstraint "mtls"';
    problems.push(`oidc.tls: certFile and keyFile are required with ${why}`);
  }
  if (oidc.tls && (oidc.tls.certFile === undefined) !== (oidc.tls.keyFile === undefined)) {
    problems.push('oidc.tls: certFile and keyFile go together');
  }
  problems.push(...fileProblems(oidc));
  if (oidc.profile === 'fapi2') problems.push(...fapi2Problems(oidc));
  return problems;
}

/** Keys and certificates must be readable and usable now, not at the first sign-in. */
function fileProblems(oidc: ResolvedOidcSettings): string[] {
  const fapi2 = oidc.profile === 'fapi2';
  const defaultRsaSigningAlg = fapi2 ? 'PS256' : 'RS256';
  const problems = [
    ...keyProblems(oidc.signingKeys, 'sig', 'oidc.signingKeys', {
      defaultRsaSigningAlg,
      allowedAlgs: fapi2 ? FAPI2_ALGS : undefined,
    }),
    ...keyProblems(oidc.decryptionKeys, 'enc', 'oidc.decryptionKeys', { defaultRsaSigningAlg }),
  ];
  const { tls } = oidc;
  try {
    if (tls?.certFile && tls.keyFile)
      readClientCertificate({ certFile: tls.certFile, keyFile: tls.keyFile }, 'oidc.tls');
    if (tls?.caFile) readPem(tls.caFile, 'oidc.tls.caFile');
  } catch (error) {
    problems.push((error as Error).message);
  }
  return problems;
}

function fapi2Problems(oidc: ResolvedOidcSettings): string[] {
  const problems: string[] = [];
  const rule = (key: string, expected: string) => problems.push(`oidc.${key}: the fapi2 profile requires ${expected}`);
  if (!FAPI2_CLIENT_AUTH.includes(oidc.clientAuth)) {
    rule('clientAuth', '"private_key_jwt", "tls_client_auth" or "self_signed_tls_client_auth"');
  }
  if (oidc.pushedAuthorizationRequests !== 'always') rule('pushedAuthorizationRequests', '"always"');
  if (oidc.senderConstraint === 'none') rule('senderConstraint', '"dpop" or "mtls"');
  if (!(FAPI2_ALGS as readonly string[]).includes(oidc.idTokenSigningAlg))
    rule('idTokenSigningAlg', FAPI2_ALGS.join(', '));
  return problems;
}
