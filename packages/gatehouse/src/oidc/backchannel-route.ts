/**
 * POST /auth/backchannel-logout: OIDC Back-Channel Logout 1.0. The provider posts a logout token
 * (form-encoded, no cookie, so no browser CSRF checks apply); every session of that provider
 * session (sid) or, without a sid, of that user (sub) ends. Invalid tokens get 400 and end nothing.
 * With several providers, one URL serves them all: the token's issuer picks the provider whose keys
 * must have signed it, and only that provider's sessions (by iss) can end.
 */
import { decodeJwt } from 'jose';
import { GatehouseError } from '../errors.js';
import type { HttpReply, HttpRequest } from '../http/exchange.js';
import { routeOnly, type Router } from '../http/router.js';
import type { Services } from '../services.js';
import { endSessions } from '../tokens/end-sessions.js';
import { LogoutTokenValidator } from './backchannel-logout.js';
import type { OidcClient } from './client.js';

async function makeValidator(oidc: OidcClient): Promise<LogoutTokenValidator> {
  const metadata = (await oidc.configuration()).serverMetadata();
  if (!metadata.jwks_uri) throw new GatehouseError('server_error', { detail: 'the provider publishes no jwks_uri' });
  return new LogoutTokenValidator({
    issuer: metadata.issuer,
    clientId: oidc.settings.clientId,
    algorithms: [oidc.settings.idTokenSigningAlg],
    jwksUri: metadata.jwks_uri,
    fetch: oidc.identity.fetch,
  });
}

const sameIssuer = (configured: string, iss: unknown) =>
  typeof iss === 'string' && configured.replace(/\/$/, '') === iss.replace(/\/$/, '');

const PATH = '/auth/backchannel-logout';

export function backchannelRoute(app: Router, services: Services): void {
  const { config, providers, sessions } = services;
  const accepting = providers.all.filter((oidc) => oidc.settings.backchannelLogout);

  // One validator per provider, made once its metadata is known.
  const validators = new Map<OidcClient, Promise<LogoutTokenValidator>>();
  const validatorOf = (oidc: OidcClient) => {
    let validator = validators.get(oidc);
    if (!validator) {
      validator = makeValidator(oidc);
      validators.set(oidc, validator);
      validator.catch(() => validators.delete(oidc));
    }
    return validator;
  };

  /** The provider that issued a logout token, by its `iss` (checked again with the signature). */
  const issuerOf = (token: string): OidcClient => {
    let iss: unknown;
    try {
      iss = decodeJwt(token).iss;
    } catch {
      throw new GatehouseError('invalid_logout_token', { detail: 'not a JWT' });
    }
    const oidc = accepting.find((candidate) => sameIssuer(candidate.settings.issuer, iss));
    if (!oidc)
      throw new GatehouseError('invalid_logout_token', { detail: 'from no provider that may end sessions here' });
    return oidc;
  };

  const logout = async (request: HttpRequest, reply: HttpReply) => {
    reply.header('cache-control', 'no-store');
    if (!(request.body instanceof URLSearchParams)) {
      throw new GatehouseError('invalid_logout_token', {
        detail: 'expected an application/x-www-form-urlencoded body',
      });
    }
    const tokens = request.body.getAll('logout_token');
    if (tokens.length !== 1) throw new GatehouseError('invalid_logout_token', { detail: 'expected one logout_token' });
    const logout = await (await validatorOf(issuerOf(tokens[0]!))).validate(tokens[0]);
    const rememberFor = Math.max(60_000, logout.exp * 1000 - Date.now() + 60_000);
    if (!(await sessions.markUsed(`jti:${logout.iss}|${logout.jti}`, rememberFor))) {
      throw new GatehouseError('invalid_logout_token', { detail: 'logout token replayed (jti seen before)' });
    }
    const keys = await sessions.find(
      logout.sid !== undefined ? { iss: logout.iss, sid: logout.sid } : { iss: logout.iss, sub: logout.sub! },
    );
    const ended = await endSessions(services, keys, request.log);
    request.log.info({ sub: logout.sub, ended }, 'back-channel logout');
    reply.code(200);
    return reply.send();
  };
  if (accepting.length === 0) return;
  routeOnly(app, ['POST'], `${config.basePath}${PATH}`, logout, {
    body: { kind: 'form-params', limit: 64 * 1024 },
  });
}
