/**
 * The one place where openid-client / oauth4webapi / network failures become Gatehouse errors.
 * The provider's own words (error_description) go to the log, never to the browser.
 */
import * as client from 'openid-client';
import { GatehouseError, type ErrorCode } from '../errors.js';

/** Failures meaning "the provider could not be reached or answered garbage", not "the answer was no". */
const UNAVAILABLE_CODES = new Set([
  'OAUTH_TIMEOUT',
  'OAUTH_ABORT',
  'OAUTH_RESPONSE_IS_NOT_CONFORM',
  'OAUTH_RESPONSE_IS_NOT_JSON',
]);

export function isProviderUnavailable(error: unknown): boolean {
  if (error instanceof TypeError && error.message === 'fetch failed') return true;
  if (error instanceof client.ResponseBodyError) return error.status >= 500;
  if (error instanceof client.ClientError) return error.code !== undefined && UNAVAILABLE_CODES.has(error.code);
  return error instanceof DOMException && (error.name === 'TimeoutError' || error.name === 'AbortError');
}

/** Refusals of what a token was asked for (RFC 8707 §2, RFC 8693 §2.2.2, RFC 6749 §5.2), not of the session. */
const REFUSED_FOR_THE_API = new Set(['invalid_target', 'invalid_scope']);

/**
 * Translates a failure of a provider call. `refused` is the code used when the provider (or our
 * validation of its answer) said no: `login_failed` at the callback, `session_expired` at refresh.
 */
export function translateProviderError(error: unknown, refused: ErrorCode, step: string): GatehouseError {
  if (error instanceof GatehouseError) return error;
  if (isProviderUnavailable(error)) {
    return new GatehouseError('idp_unavailable', {
      cause: error,
      detail: `${step}: provider unreachable`,
    });
  }
  if (rejectsClientCredentials(error)) {
    // Our own misconfiguration, not the user's doing and not cured by signing in again.
    return new GatehouseError('server_error', {
      cause: error,
      detail: `${step}: the provider rejected Gatehouse's client credentials (check oidc.clientId, oidc.clientSecret, oidc.clientAuth)`,
    });
  }
  if (error instanceof client.AuthorizationResponseError) {
    const code = error.error === 'access_denied' ? 'access_denied' : refused;
    return new GatehouseError(code, {
      cause: error,
      detail: `${step}: provider returned error=${error.error}`,
    });
  }
  if (error instanceof client.ResponseBodyError && REFUSED_FOR_THE_API.has(error.error)) {
    // The provider will not issue a token for that API or scope: no reason to end the session.
    return new GatehouseError('token_refused', {
      cause: error,
      detail: `${step}: provider answered ${error.status} ${error.error}`,
    });
  }
  if (error instanceof client.ResponseBodyError) {
    return new GatehouseError(refused, {
      cause: error,
      detail: `${step}: provider answered ${error.status} ${error.error}`,
    });
  }
  if (error instanceof client.ClientError) {
    // oauth4webapi names the claim that failed a check in its cause, not in its message.
    const claim = (error.cause as { claim?: unknown } | undefined)?.claim;
    return new GatehouseError(refused, {
      cause: error,
      detail: `${step}: ${error.code ?? ''} ${error.message}${typeof claim === 'string' ? ` (claim ${claim})` : ''}`,
    });
  }
  return new GatehouseError('server_error', {
    cause: error,
    detail: `${step}: unexpected failure`,
  });
}

/** What a provider answers a silent sign-in (prompt=none) when it would have to show a page (OIDC Core §3.1.2.6). */
const NEEDS_INTERACTION = new Set([
  'login_required',
  'consent_required',
  'interaction_required',
  'account_selection_required',
]);

/** The provider's code when `error` is its "I would have to ask the user" answer to a silent sign-in. */
export function interactionNeeded(error: unknown): string | undefined {
  const cause = error instanceof GatehouseError ? error.cause : error;
  return cause instanceof client.AuthorizationResponseError && NEEDS_INTERACTION.has(cause.error)
    ? cause.error
    : undefined;
}

/** invalid_client / unauthorized_client, whether as a JSON error body or a 401 WWW-Authenticate challenge. */
function rejectsClientCredentials(error: unknown): boolean {
  const codes = new Set(['invalid_client', 'unauthorized_client']);
  if (error instanceof client.ResponseBodyError) return codes.has(error.error);
  if (error instanceof client.WWWAuthenticateChallengeError) {
    return error.cause.some((challenge) => codes.has(String(challenge.parameters.error)));
  }
  return false;
}
