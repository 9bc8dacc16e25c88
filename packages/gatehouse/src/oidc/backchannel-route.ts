/**
 * POST /auth/backchannel-logout: OIDC Back-Channel Logout 1.0. The provider posts a logout token
 * (form-encoded, no cookie, so no browser CSRF checks apply); every session of that provider
 * session (sid) or, without a sid, of that user (sub) ends. Invalid tokens get 400 and end nothing.
 */
import { GatehouseError } from '../errors.js';
import type { HttpReply, HttpRequest } from '../http/exchange.js';
import { routeOnly, type Router } from '../http/router.js';
import type { Services } from '../services.js';
import { endSessions } from '../tokens/end-sessions.js';
import { LogoutTokenValidator } from './backchannel-logout.js';

const PATH = '/auth/backchannel-logout';

export function backchannelRoute(app: Router, services: Services): void {
  const { config, oidc, sessions } = services;

  let validator: LogoutTokenValidator | undefined;
  const validatorFor = async () => {
    if (validator) return validator;
    const metadata = (await oidc.configuration()).serverMetadata();
    if (!metadata.jwks_uri) throw new GatehouseError('server_error', { detail: 'the provider publishes no jwks_uri' });
    validator = new LogoutTokenValidator({
      issuer: metadata.issuer,
      clientId: config.oidc.clientId,
      algorithms: [config.oidc.idTokenSigningAlg],
      jwksUri: metadata.jwks_uri,
      fetch: oidc.identity.fetch,
    });
    return validator;
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
    const logout = await (await validatorFor()).validate(tokens[0]);
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
  routeOnly(app, ['POST'], `${config.basePath}${PATH}`, logout, {
    body: { kind: 'form-params', limit: 64 * 1024 },
  });
}
