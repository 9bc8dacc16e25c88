/**
 * `npm start`: the whole demo on localhost with embedded defaults.
 *   http://localhost:3000   Gatehouse, serving the demo SPA and /api
 *   http://127.0.0.1:3001   the demo OpenID Provider (a different site, as a real IdP would be)
 *   http://127.0.0.1:3002   the internal orders API (only Gatehouse calls it)
 *   http://127.0.0.1:3009   Gatehouse's admin listener (/healthz, /readyz)
 * DEMO_APP_PORT, DEMO_IDP_PORT, DEMO_API_PORT and DEMO_ADMIN_PORT move them.
 */
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { createGatehouse, loadConfigFile } from 'gatehouse';
import { startDemoIdp } from './idp.js';
import { startOrdersApi } from './orders-api.js';

const port = (name: string, fallback: number) => Number(process.env[name] ?? fallback);
const PORTS = {
  app: port('DEMO_APP_PORT', 3000),
  idp: port('DEMO_IDP_PORT', 3001),
  api: port('DEMO_API_PORT', 3002),
  admin: port('DEMO_ADMIN_PORT', 3009),
};
const APP_URL = `http://localhost:${PORTS.app}`;
const secret = () => randomBytes(32).toString('base64url');

async function main(): Promise<void> {
  const clientSecret = secret();
  const idp = await startDemoIdp({
    port: PORTS.idp,
    clients: [
      {
        clientId: 'gatehouse-demo',
        clientSecret,
        redirectUris: [`${APP_URL}/api/auth/callback`],
        postLogoutRedirectUris: [`${APP_URL}/`],
        // Signing out at the provider ends the Gatehouse session too.
        backchannelLogoutUri: `${APP_URL}/api/auth/backchannel-logout`,
      },
    ],
  });
  const api = await startOrdersApi({ issuer: idp.issuer, audience: idp.apiResource, port: PORTS.api });
  const config = loadConfigFile(fileURLToPath(new URL('../gatehouse.yaml', import.meta.url)), {
    ...process.env,
    DEMO_ISSUER: idp.issuer,
    DEMO_CLIENT_SECRET: clientSecret,
    DEMO_SESSION_SECRET: secret(),
    DEMO_ORDERS_API: api.url,
    DEMO_APP_PORT: String(PORTS.app),
    DEMO_ADMIN_PORT: String(PORTS.admin),
  });
  const gatehouse = await createGatehouse(config);
  await gatehouse.listen();

  process.stdout.write(`
  Gatehouse demo is running.

    Open ${APP_URL} and sign in as alice / alice or bob / bob.

    identity provider  ${idp.issuer}
    orders API         ${api.url} (internal: only Gatehouse calls it)
    admin              http://127.0.0.1:${config.admin.port}/readyz

  Press Ctrl+C to stop.
`);

  const stop = () => {
    void Promise.allSettled([gatehouse.close(), api.close(), idp.close()]).then(() => process.exit(0));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

main().catch((error: unknown) => {
  const code = (error as NodeJS.ErrnoException).code;
  process.stderr.write(
    code === 'EADDRINUSE'
      ? `The demo needs ports ${Object.values(PORTS).join(', ')} free: ${(error as Error).message}\n`
      : `The demo failed to start: ${error instanceof Error ? error.stack : String(error)}\n`,
  );
  process.exit(1);
});
