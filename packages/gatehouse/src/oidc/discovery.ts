/**
 * Discovery: the provider's metadata (its issuer must equal the configured one), and everything
 * Gatehouse derives from it once: the openid-client configurations (a second one reads JARM
 * responses), the form authorization requests take, and the ID token signature check.
 */
import * as client from 'openid-client';
import type { GatehouseConfig } from '../config/load.js';
import { GatehouseError } from '../errors.js';
import { requestForm, type RequestForm } from './authorization-request.js';
import type { ClientIdentity } from './client-identity.js';
import { translateProviderError } from './errors.js';
import { IdTokenSignature } from './id-token-signature.js';

export interface Discovered {
  configuration: client.Configuration;
  /**
   * The configuration that reads authorization responses. For JARM it is a second one: openid-client
   * would otherwise rewrite every request's response_mode to "jwt" (losing "form_post.jwt").
   */
  responses: client.Configuration;
  form: RequestForm;
  idTokens: IdTokenSignature;
}

/** Discovers the provider; every call to it goes through `fetch`. Throws `idp_unavailable`. */
export async function discover(
  settings: GatehouseConfig['oidc'],
  identity: ClientIdentity,
  fetch: (url: string, init?: RequestInit) => Promise<Response>,
): Promise<Discovered> {
  const { issuer, clientId, idTokenSigningAlg, timeout, allowInsecureHttp, responseMode } = settings;
  const execute = allowInsecureHttp ? [client.allowInsecureRequests] : [];
  const clientMetadata = {
    // The one algorithm accepted on ID tokens, and on JARM responses (signed by the same provider keys).
    id_token_signed_response_alg: idTokenSigningAlg,
    authorization_signed_response_alg: idTokenSigningAlg,
    ...(identity.presentsCertificate ? { use_mtls_endpoint_aliases: true } : {}),
  };
  const authentication = await identity.authentication();
  let configuration: client.Configuration;
  try {
    // discovery() checks that the document's issuer equals the configured one.
    configuration = await client.discovery(new URL(issuer), clientId, clientMetadata, authentication, {
      execute,
      timeout: Math.ceil(timeout / 1000),
      [client.customFetch]: fetch as client.CustomFetch,
    });
  } catch (error) {
    const translated = translateProviderError(error, 'idp_unavailable', 'discovery');
    throw translated.code === 'idp_unavailable'
      ? translated
      : new GatehouseError('idp_unavailable', { cause: error, detail: 'discovery document rejected' });
  }
  const metadata = configuration.serverMetadata();
  let responses = configuration;
  if (responseMode.endsWith('jwt')) {
    responses = new client.Configuration(metadata, clientId, clientMetadata, authentication);
    responses[client.customFetch] = fetch as client.CustomFetch;
    responses.timeout = configuration.timeout;
    for (const extension of execute) extension(responses);
    client.useJwtResponseMode(responses);
  }
  if (identity.decryptionKeys.length > 0) {
    client.enableDecryptingResponses(responses, undefined, ...(await identity.decryptionCryptoKeys()));
  }
  if (!metadata.jwks_uri) throw new GatehouseError('idp_unavailable', { detail: 'the provider publishes no jwks_uri' });
  return {
    configuration,
    responses,
    form: requestForm(settings, metadata, identity.signingKeys.length > 0),
    idTokens: new IdTokenSignature({
      jwksUri: metadata.jwks_uri,
      algorithm: idTokenSigningAlg,
      issuer: metadata.issuer,
      clientId,
      fetch: identity.fetch,
      decrypt: (jwe) => identity.decrypt(jwe),
    }),
  };
}
