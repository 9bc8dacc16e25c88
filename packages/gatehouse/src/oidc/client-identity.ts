/**
 * How Gatehouse proves who it is to the provider: the client authentication method (a shared
 * secret, private_key_jwt with its own keys, or a TLS client certificate), the connection every
 * provider call goes over (the certificate presented, extra CAs trusted), and the public JWKS the
 * provider can register by jwks_uri.
 */
import { compactDecrypt, type JWK } from 'jose';
import * as client from 'openid-client';
import type { GatehouseConfig } from '../config/load.js';
import { cryptoKey, loadClientKeys, publicOnly, type ClientKey } from '../keys/client-keys.js';
import {
  certificateJwk,
  readClientCertificate,
  tlsConnectOptions,
  type ClientCertificate,
  type TlsConnectOptions,
} from '../keys/tls-material.js';

type OidcSettings = GatehouseConfig['oidc'];

/** A fetch over connections with these TLS options (a client certificate, extra CAs): the runtime's to give. */
export type TlsFetchFactory = (tls: TlsConnectOptions) => { fetch: typeof fetch; close(): Promise<void> };

export class ClientIdentity {
  readonly #settings: OidcSettings;
  readonly #certificate: ClientCertificate | undefined;
  readonly #connection: ReturnType<TlsFetchFactory> | undefined;
  #signingKey: Promise<client.PrivateKey> | undefined;
  #decryptionKeys: Promise<client.DecryptionKey[]> | undefined;

  private constructor(
    settings: OidcSettings,
    readonly signingKeys: readonly ClientKey[],
    readonly decryptionKeys: readonly ClientKey[],
    tlsFetch: TlsFetchFactory | undefined,
  ) {
    this.#settings = settings;
    const { tls } = settings;
    this.#certificate =
      tls?.certFile && tls.keyFile
        ? readClientCertificate({ certFile: tls.certFile, keyFile: tls.keyFile }, 'oidc.tls')
        : undefined;
    const connect = tlsConnectOptions(tls?.caFile, this.#certificate, 'oidc.tls');
    if (Object.keys(connect).length > 0) {
      if (!tlsFetch) throw new Error('oidc.tls: this runtime cannot present certificates or trust extra CAs');
      this.#connection = tlsFetch(connect);
    }
  }

  /** `tlsFetch`: how this runtime makes connections with a client certificate or extra CAs (Node: undici). */
  static async load(settings: OidcSettings, tlsFetch?: TlsFetchFactory): Promise<ClientIdentity> {
    const rsa = settings.profile === 'fapi2' ? 'PS256' : 'RS256';
    const [signing, decryption] = await Promise.all([
      loadClientKeys(settings.signingKeys, 'sig', rsa),
      loadClientKeys(settings.decryptionKeys, 'enc', rsa),
    ]);
    return new ClientIdentity(settings, signing, decryption, tlsFetch);
  }

  /** Whether a TLS client certificate is presented to the provider. */
  get presentsCertificate(): boolean {
    return this.#certificate !== undefined;
  }

  /** The `fetch` every provider call goes through: over connections with the client certificate and CAs, when there are any. */
  readonly fetch = (url: string, options: RequestInit = {}): Promise<Response> =>
    (this.#connection?.fetch ?? fetch)(url, options);

  /** openid-client's client authentication for the configured method. */
  async authentication(): Promise<client.ClientAuth> {
    switch (this.#settings.clientAuth) {
      case 'client_secret_post':
        return client.ClientSecretPost(this.#settings.clientSecret);
      case 'client_secret_basic':
        return client.ClientSecretBasic(this.#settings.clientSecret);
      case 'private_key_jwt':
        return client.PrivateKeyJwt(await this.signingKey(), this.signingOptions());
      default:
        // Both mTLS methods send client_id in the body; the certificate authenticates.
        return client.TlsClientAuth();
    }
  }

  /** The first signing key (the one that signs), in the form openid-client wants. */
  signingKey(): Promise<client.PrivateKey> {
    const first = this.signingKeys[0];
    if (!first) return Promise.reject(new Error('no signing key configured'));
    this.#signingKey ??= cryptoKey(first).then((key) => ({ key, kid: first.kid }));
    return this.#signingKey;
  }

  /** With a certificate for the signing key: every JWT it signs names the certificate too (x5t#S256, x5t). */
  signingOptions(): client.ModifyAssertionOptions | undefined {
    const header = this.signingKeys[0]?.certificateHeader;
    return header && { [client.modifyAssertion]: (protectedHeader) => void Object.assign(protectedHeader, header) };
  }

  /** Keys for encrypted responses, for openid-client's decryption. */
  decryptionCryptoKeys(): Promise<client.DecryptionKey[]> {
    this.#decryptionKeys ??= Promise.all(
      this.decryptionKeys.map(async (key) => ({ key: await cryptoKey(key), kid: key.kid, alg: key.alg })),
    );
    return this.#decryptionKeys;
  }

  /** The plaintext of a compact JWE encrypted to one of the decryption keys (a nested JWT's inner JWS). */
  async decrypt(jwe: string): Promise<string> {
    for (const key of await this.decryptionCryptoKeys()) {
      try {
        return new TextDecoder().decode(
          (await compactDecrypt(jwe, key.key, { keyManagementAlgorithms: [key.alg!] })).plaintext,
        );
      } catch {
        // not for this key: try the next
      }
    }
    throw new Error('no configured decryption key opens this JWE');
  }

  /**
   * The public JWKS: every signing and decryption key's public half, and, for
   * self_signed_tls_client_auth, the certificate (x5c). Never a private member.
   */
  jwks(): { keys: JWK[] } {
    const keys = [...this.signingKeys, ...this.decryptionKeys].map((key) => key.publicJwk);
    if (this.#certificate && this.#settings.clientAuth === 'self_signed_tls_client_auth') {
      keys.push(certificateJwk(this.#certificate));
    }
    return { keys: keys.map(publicOnly) };
  }

  close(): Promise<void> {
    return this.#connection?.close() ?? Promise.resolve();
  }
}
