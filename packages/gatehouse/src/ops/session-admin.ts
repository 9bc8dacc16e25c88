/**
 * Session admin on the admin listener, behind `Authorization: Bearer <admin.token>`:
 *   GET    /sessions?sub=alice    a user's sessions (handles, never session ids)
 *   DELETE /sessions/:handle      end one session
 *   DELETE /sessions?sub=alice    end all of a user's sessions
 * `iss` defaults to the configured provider. Ended sessions have their tokens revoked.
 */
import { timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { GatehouseError } from '../errors.js';
import type { Services } from '../services.js';
import { endSessions } from '../tokens/end-sessions.js';

export async function sessionAdminRoutes(app: FastifyInstance, services: Services, adminToken: string): Promise<void> {
  const { sessions } = services;
  const expected = Buffer.from(`Bearer ${adminToken}`);

  app.addHook('onRequest', async (request) => {
    const given = Buffer.from(request.headers.authorization ?? '');
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
      throw new GatehouseError('admin_unauthorized');
    }
  });

  const subjectOf = (request: FastifyRequest) => {
    const { sub, iss } = request.query as { sub?: unknown; iss?: unknown };
    if (typeof sub !== 'string' || sub === '')
      throw new GatehouseError('invalid_request', { detail: 'sub is required' });
    return { sub, iss: typeof iss === 'string' && iss !== '' ? iss : undefined };
  };
  const issuer = async (iss: string | undefined) =>
    iss ?? (await services.oidc.configuration()).serverMetadata().issuer;

  app.get('/sessions', async (request, reply) => {
    reply.header('cache-control', 'no-store');
    const { sub, iss } = subjectOf(request);
    const keys = await sessions.find({ iss: await issuer(iss), sub });
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
    const ended = await endSessions(services, [handle], request.log);
    if (ended === 0) throw new GatehouseError('not_found', { detail: 'no live session with that handle' });
    request.log.info({ handle }, 'session ended by admin');
    return reply.code(204).send();
  });

  app.delete('/sessions', async (request) => {
    const { sub, iss } = subjectOf(request);
    const ended = await endSessions(services, await sessions.find({ iss: await issuer(iss), sub }), request.log);
    request.log.info({ sub, ended }, "user's sessions ended by admin");
    return { ended };
  });
}
