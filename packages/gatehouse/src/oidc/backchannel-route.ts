/**
 * POST /auth/backchannel-logout: OIDC Back-Channel Logout 1.0. The provider posts a logout token
 * (form-encoded, no cookie, so no browser CSRF checks apply); every session of that provider
 * session (sid) or, without a sid, of that user (sub) ends. Invalid tokens get 400 and end nothing.
 */
import type { FastifyInstance } from 'fastify';
import { GatehouseError } from '../errors.js';
import type { Services } from '../services.js';
import { endSessions } from '../tokens/end-sessions.js';
import { LogoutTokenValidator } from './backchannel-logout.js';

const PATH = '/auth/backchannel-logout';

export async function backchannelRoute(app: FastifyInstance, services: Services): Promise<void> {
  const { config, oidc, sessions } = services;
  app.addContentTypeParser(
    'application/x-www-form-urlencoded',
    { parseAs: 'string', bodyLimit: 64 * 1024 },
    (_request, body, done) => done(null, new URLSearchParams(body as string)),
  );

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

  app.post(PATH, async (request, reply) => {
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
    return reply.code(200).send();
  });

  app.route({
    method: ['GET', 'PUT', 'PATCH', 'DELETE'],
    url: PATH,
    handler: async (_request, reply) => {
      reply.header('allow', 'POST');
      throw new GatehouseError('method_not_allowed');
    },
  });
}
