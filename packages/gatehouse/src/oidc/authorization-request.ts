/**
 * The authorization request, in whichever form the provider and the configuration call for:
 * plain query parameters, a signed request object (JAR, RFC 9101; optionally encrypted to the
 * provider's key), pushed to the provider first (PAR, RFC 9126; the browser then carries only
 * client_id and request_uri), or both. Which form is decided once per discovery (`requestForm`),
 * so a provider that demands PAR or request objects is answered by `auto` without configuration.
 */
import { CompactEncrypt, importJWK, type JWK } from 'jose';
import * as client from 'openid-client';
import type { GatehouseConfig } from '../config/load.js';
import { GatehouseError } from '../errors.js';

type OidcSettings = GatehouseConfig['oidc'];

export interface RequestForm {
  /** Push the request to the PAR endpoint. */
  pushed: boolean;
  /** Send the parameters as a signed request object. */
  signed: boolean;
}

/** Problems between the configuration and what the provider's metadata says, as one line each. */
export function requestForm(
  settings: OidcSettings,
  metadata: client.ServerMetadata,
  hasSigningKey: boolean,
): RequestForm {
  const problems: string[] = [];
  const offersPar = metadata.pushed_authorization_request_endpoint !== undefined;
  const pushed =
    settings.pushedAuthorizationRequests === 'always' || (settings.pushedAuthorizationRequests === 'auto' && offersPar);
  if (pushed && !offersPar)
    problems.push('oidc.pushedAuthorizationRequests is "always" but the provider has no PAR endpoint');
  if (!pushed && metadata.require_pushed_authorization_requests === true) {
    problems.push(
      'the provider requires pushed authorization requests but oidc.pushedAuthorizationRequests is "never"',
    );
  }
  const signed =
    settings.requestObject === 'always' ||
    (settings.requestObject === 'auto' && metadata.require_signed_request_object === true);
  if (!signed && metadata.require_signed_request_object === true) {
    problems.push('the provider requires signed request objects but oidc.requestObject is "never"');
  }
  if (signed && !hasSigningKey) problems.push('signed request objects need oidc.signingKeys');
  const modes = metadata.response_modes_supported;
  if (settings.responseMode !== 'query' && Array.isArray(modes) && !modes.includes(settings.responseMode)) {
    problems.push(`the provider does not offer oidc.responseMode "${settings.responseMode}"`);
  }
  if (problems.length > 0) {
    throw new GatehouseError('idp_unavailable', {
      detail: `configuration does not fit the provider: ${problems.join('; ')}`,
    });
  }
  return { pushed, signed };
}

export interface RequestSigning {
  signingKey: () => Promise<client.PrivateKey>;
  signingOptions?: client.ModifyAssertionOptions;
  /** Where the provider's keys are fetched (for encrypting request objects). */
  fetch: (url: string, options?: RequestInit) => Promise<Response>;
  dpop?: client.DPoPHandle;
}

/** The URL the browser is sent to. */
export async function authorizationUrl(
  configuration: client.Configuration,
  settings: OidcSettings,
  form: RequestForm,
  parameters: URLSearchParams,
  signing: RequestSigning,
): Promise<URL> {
  let params = parameters;
  if (form.signed) {
    const url = await client.buildAuthorizationUrlWithJAR(
      configuration,
      parameters,
      await signing.signingKey(),
      signing.signingOptions,
    );
    params = url.searchParams;
    if (settings.requestObjectEncryption) {
      params.set('request', await encryptToProvider(configuration, params.get('request')!, settings, signing.fetch));
    }
    if (!form.pushed) {
      url.search = params.toString();
      return url;
    }
  }
  if (form.pushed) return client.buildAuthorizationUrlWithPAR(configuration, params, { DPoP: signing.dpop });
  return client.buildAuthorizationUrl(configuration, params);
}

/** A nested JWT (RFC 9101 §6.1): the signed request object, encrypted to the provider's encryption key. */
async function encryptToProvider(
  configuration: client.Configuration,
  requestObject: string,
  settings: OidcSettings,
  fetch: RequestSigning['fetch'],
): Promise<string> {
  const { alg, enc } = settings.requestObjectEncryption!;
  const jwksUri = configuration.serverMetadata().jwks_uri;
  if (!jwksUri) throw new GatehouseError('idp_unavailable', { detail: 'the provider publishes no JWKS to encrypt to' });
  const response = await fetch(jwksUri, { headers: { accept: 'application/json' } });
  const { keys = [] } = ((await response.json()) as { keys?: JWK[] }) ?? {};
  const kty = alg.startsWith('RSA') ? 'RSA' : 'EC';
  const jwk = keys.find((k) => k.kty === kty && (k.use ?? 'enc') === 'enc' && (k.alg ?? alg) === alg);
  if (!jwk) {
    throw new GatehouseError('idp_unavailable', { detail: `the provider's JWKS has no ${alg} encryption key` });
  }
  return new CompactEncrypt(new TextEncoder().encode(requestObject))
    .setProtectedHeader({ alg, enc, cty: 'JWT', ...(jwk.kid ? { kid: jwk.kid } : {}) })
    .encrypt(await importJWK(jwk, alg));
}
