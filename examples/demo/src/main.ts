/**
 * `npm start`: the whole demo on localhost with embedded defaults.
 *   http://localhost:3000   Gatehouse, serving the demo SPA and /api
 *   http://127.0.0.1:3001   the demo OpenID Provider (a different site, as a real IdP would be)
 *   http://127.0.0.1:3002   the internal orders API (only Gatehouse calls it)
 *   http://127.0.0.1:3003   the internal profile API (only Gatehouse's dashboard extension calls it)
 *   http://127.0.0.1:3009   Gatehouse's admin listener (/healthz, /readyz)
 * DEMO_APP_PORT, DEMO_IDP_PORT, DEMO_API_PORT, DEMO_PROFILE_PORT and DEMO_ADMIN_PORT move them.
 * DEMO_PROFILE=fapi2 runs it as a FAPI 2.0 client (PAR, private_key_jwt, DPoP, JARM; see demo.ts).
 */
import { startDemo } from './demo.js';

const port = (name: string, fallback: number) => Number(process.env[name] ?? fallback);
const PORTS = {
  app: port('DEMO_APP_PORT', 3000),
  idp: port('DEMO_IDP_PORT', 3001),
  api: port('DEMO_API_PORT', 3002),
  profile: port('DEMO_PROFILE_PORT', 3003),
  admin: port('DEMO_ADMIN_PORT', 3009),
};

async function main(): Promise<void> {
  const demo = await startDemo(PORTS);
  const profile =
    demo.config.oidc.profile === 'fapi2' ? ' as a FAPI 2.0 client (PAR, private_key_jwt, DPoP, JARM)' : '';
  process.stdout.write(`
  Gatehouse demo is running${profile}.

    Open ${demo.appUrl} and sign in as alice / alice or bob / bob.

    identity provider  ${demo.idp.issuer}
    orders API         ${demo.api.url} (internal: only Gatehouse calls it)
    profile API        ${demo.profileApi.url} (internal: only Gatehouse calls it)
    admin              http://127.0.0.1:${demo.config.admin.port}/readyz

  Press Ctrl+C to stop.
`);

  const stop = () => void demo.close().then(() => process.exit(0));
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
