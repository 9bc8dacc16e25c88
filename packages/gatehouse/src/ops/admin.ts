/**
 * The admin listener: kept off the public port so health and operations never face the internet.
 *   GET /healthz  the process is alive
 *   GET /readyz   every app's session store answers and its default provider's metadata is loaded
 *                 (other providers are reported, and do not make the instance unready)
 *   GET /metrics  Prometheus metrics (admin.metrics)
 *   /sessions     session admin, when admin.token is configured (see session-admin.ts)
 */
import type { FastifyInstance } from 'fastify';
import type { Services } from '../services.js';
import { sessionAdminRoutes } from './session-admin.js';

/** `apps`: every app's services, the main one first. */
export async function adminRoutes(app: FastifyInstance, apps: readonly Services[]): Promise<void> {
  const services = apps[0]!;
  app.get('/healthz', async (_request, reply) => {
    reply.header('cache-control', 'no-store');
    return { status: 'ok' };
  });

  app.get('/readyz', async (_request, reply) => {
    // Ready when every app's store and default provider are: a second provider being down affects
    // only its own sign-ins, and must not take the whole instance out of the load balancer.
    const others = apps.flatMap((one) =>
      one.providers.all.filter((oidc) => oidc !== one.providers.default).map((oidc) => ({ app: one.config.app, oidc })),
    );
    const [store, idp, ...more] = await Promise.all([
      Promise.all(apps.map((one) => one.sessions.ping())).then(ok, down),
      Promise.all(apps.map((one) => one.providers.default.configuration())).then(ok, down),
      ...others.map(({ oidc }) => oidc.configuration().then(ok, down)),
    ]);
    const ready = store === 'ok' && idp === 'ok';
    reply.code(ready ? 200 : 503).header('cache-control', 'no-store');
    const providers = Object.fromEntries(
      others.map(({ app: name, oidc }, i) => [apps.length > 1 ? `${name}/${oidc.name}` : oidc.name, more[i]]),
    );
    return {
      status: ready ? 'ready' : 'not_ready',
      checks: { sessionStore: store, identityProvider: idp, ...(others.length > 0 && { providers }) },
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
  if (token) await app.register(async (scope) => sessionAdminRoutes(scope, apps, token));
}

const ok = () => 'ok' as const;
const down = () => 'unavailable' as const;
