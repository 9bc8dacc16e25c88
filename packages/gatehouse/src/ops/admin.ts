/**
 * The admin listener: kept off the public port so health and operations never face the internet.
 *   GET /healthz  the process is alive
 *   GET /readyz   the session store answers and the provider's metadata is loaded
 */
import type { FastifyInstance } from 'fastify';
import type { Services } from '../services.js';

export async function adminRoutes(app: FastifyInstance, services: Services): Promise<void> {
  app.get('/healthz', async (_request, reply) => {
    reply.header('cache-control', 'no-store');
    return { status: 'ok' };
  });

  app.get('/readyz', async (_request, reply) => {
    const [store, idp] = await Promise.all([
      services.sessions.store.ping().then(ok, down),
      services.oidc.configuration().then(ok, down),
    ]);
    const ready = store === 'ok' && idp === 'ok';
    reply.code(ready ? 200 : 503).header('cache-control', 'no-store');
    return {
      status: ready ? 'ready' : 'not_ready',
      checks: { sessionStore: store, identityProvider: idp },
    };
  });
}

const ok = () => 'ok' as const;
const down = () => 'unavailable' as const;
