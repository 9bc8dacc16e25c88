/**
 * Session admin on the admin listener, behind `Authorization: Bearer <admin.token>`:
 *   GET    /sessions?sub=alice    a user's sessions (handles, never session ids)
 *   DELETE /sessions/:handle      end one session
 *   DELETE /sessions?sub=alice    end all of a user's sessions
 * `iss` defaults to the default provider's (oidc.issuer); give another provider's issuer for its users.
 * With several apps, `app=<name>` picks the app (default: the main one). Ended sessions have their tokens revoked.
 */
import { timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { GatehouseError } from '../errors.js';
import type { Services } from '../services.js';
import { endSessions } from '../tokens/end-sessions.js';

export async function sessionAdminRoutes(
  app: FastifyInstance,
  apps: readonly Services[],
  adminToken: string,
): Promise<void> {
  const expected = Buffer.from(`Bearer ${adminToken}`);

  app.addHook('onRequest', async (request) => {
    const given = Buffer.from(request.headers.authorization ?? '');
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
      throw new GatehouseError('admin_unauthorized');
    }
  });

  /** The app whose sessions a request is about: `app=<name>`, else the main one. */
  const servicesOf = (request: FastifyRequest): Services => {
    const { app: name } = request.query as { app?: unknown };
    if (name === undefined) return apps[0]!;
    const found = apps.find((services) => services.config.app === name);
    if (!found) throw new GatehouseError('invalid_request', { detail: 'no app of that name' });
    return found;
  };

  const subjectOf = (request: FastifyRequest) => {
    const { sub, iss } = request.query as { sub?: unknown; iss?: unknown };
    if (typeof sub !== 'string' || sub === '')
      throw new GatehouseError('invalid_request', { detail: 'sub is required' });
    return { sub, iss: typeof iss === 'string' && iss !== '' ? iss : undefined };
  };
  const issuer = async (services: Services, iss: string | undefined) =>
    iss ?? (await services.providers.default.configuration()).serverMetadata().issuer;

  app.get('/sessions', async (request, reply) => {
    reply.header('cache-control', 'no-store');
    const { sub, iss } = subjectOf(request);
    const { sessions } = servicesOf(request);
    const keys = await sessions.find({ iss: await issuer(servicesOf(request), iss), sub });
    const listed = await Promise.all(
      keys.map(async (handle) => {
        const data = await sessions.read(handle);
        return (
          data && {
            handle,
            sub: data.sub,
            sid: data.sid ?? null,
            createdAt: new Date(data.createdAt).toISOString(),
            lastActiveAt: new Date(data.touchedAt).toISOString(),
            idleExpiresAt: new Date(sessions.idleExpiresAt(data)).toISOString(),
            absoluteExpiresAt: new Date(data.expiresAt).toISOString(),
          }
        );
      }),
    );
    return { sessions: listed.filter(Boolean) };
  });

  app.delete('/sessions/:handle', async (request, reply) => {
    const { handle } = request.params as { handle: string };
    const ended = await endSessions(servicesOf(request), [handle], request.log);
    if (ended === 0) throw new GatehouseError('not_found', { detail: 'no live session with that handle' });
    request.log.info({ handle }, 'session ended by admin');
    return reply.code(204).send();
  });

  app.delete('/sessions', async (request) => {
    const { sub, iss } = subjectOf(request);
    const services = servicesOf(request);
    const keys = await services.sessions.find({ iss: await issuer(services, iss), sub });
    const ended = await endSessions(services, keys, request.log);
    request.log.info({ sub, ended }, "user's sessions ended by admin");
    return { ended };
  });
}
