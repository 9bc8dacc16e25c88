/**
 * The admin listener: kept off the public port so health and operations never face the internet.
 *   GET /healthz  the process is alive
 *   GET /readyz   the session store answers and the provider's metadata is loaded
 *   GET /metrics  Prometheus metrics (admin.metrics)
 *   /sessions     session admin, when admin.token is configured (see session-admin.ts)
 */
import type { FastifyInstance } from 'fastify';
import type { Services } from '../services.js';
import { sessionAdminRoutes } from './session-admin.js';

export async function adminRoutes(app: FastifyInstance, services: Services): Promise<void> {
  app.get('/healthz', async (_request, reply) => {
    reply.header('cache-control', 'no-store');
    return { status: 'ok' };
  });

  app.get('/readyz', async (_request, reply) => {
    const [store, idp] = await Promise.all([
      services.sessions.ping().then(ok, down),
      services.oidc.configuration().then(ok, down),
    ]);
    const ready = store === 'ok' && idp === 'ok';
    reply.code(ready ? 200 : 503).header('cache-control', 'no-store');
    return {
      status: ready ? 'ready' : 'not_ready',
      checks: { sessionStore: store, identityProvider: idp },
    };
  });

  const { metrics } = services;
  if (services.config.admin.metrics && metrics) {
    app.get('/metrics', async (_request, reply) => {
      reply.header('cache-control', 'no-store').type(metrics.contentType);
      return metrics.exposition();
    });
  }

  const token = services.config.admin.token;
  if (token) await app.register(async (scope) => sessionAdminRoutes(scope, services, token));
}

const ok = () => 'ok' as const;
const down = () => 'unavailable' as const;
