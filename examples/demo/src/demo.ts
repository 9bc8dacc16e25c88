/**
 * The whole demo as one call: the demo OpenID Provider, the internal orders and profile APIs, and
 * Gatehouse serving the SPA and the dashboard extension, wired together with fresh secrets. `npm start` runs it on fixed ports; the
 * browser tests run it on free ones.
 */
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { createGatehouse, loadConfigFile, type Gatehouse, type GatehouseConfig } from 'gatehouse';
import { startDemoIdp, type DemoIdp } from './idp.js';
import { startOrdersApi, type OrdersApi } from './orders-api.js';
import { startProfileApi, type ProfileApi } from './profile-api.js';

export interface DemoPorts {
  app: number;
  idp: number;
  api: number;
  profile: number;
  admin: number;
}

export interface Demo {
  /** Where the browser opens the app (Gatehouse's publicUrl). */
  appUrl: string;
  idp: DemoIdp;
  api: OrdersApi;
  profileApi: ProfileApi;
  gatehouse: Gatehouse;
  config: GatehouseConfig;
  close(): Promise<void>;
}

const secret = () => randomBytes(32).toString('base64url');

export async function startDemo(ports: DemoPorts, env: NodeJS.ProcessEnv = process.env): Promise<Demo> {
  const appUrl = `http://localhost:${ports.app}`;
  const clientSecret = secret();
  const idp = await startDemoIdp({
    port: ports.idp,
    clients: [
      {
        clientId: 'gatehouse-demo',
        clientSecret,
        redirectUris: [`${appUrl}/api/auth/callback`],
        postLogoutRedirectUris: [`${appUrl}/`],
        // Signing out at the provider ends the Gatehouse session too.
        backchannelLogoutUri: `${appUrl}/api/auth/backchannel-logout`,
      },
    ],
  });
  const api = await startOrdersApi({ issuer: idp.issuer, audience: idp.apiResource, port: ports.api });
  const profileApi = await startProfileApi({ issuer: idp.issuer, audience: idp.apiResource, port: ports.profile });
  const config = loadConfigFile(fileURLToPath(new URL('../gatehouse.yaml', import.meta.url)), {
    ...env,
    DEMO_ISSUER: idp.issuer,
    DEMO_CLIENT_SECRET: clientSecret,
    DEMO_SESSION_SECRET: secret(),
    DEMO_ORDERS_API: api.url,
    DEMO_PROFILE_API: profileApi.url,
    DEMO_APP_PORT: String(ports.app),
    DEMO_ADMIN_PORT: String(ports.admin),
  });
  const gatehouse = await createGatehouse(config);
  await gatehouse.listen().catch(async (error: unknown) => {
    await Promise.allSettled([gatehouse.close(), api.close(), profileApi.close(), idp.close()]);
    throw error;
  });
  return {
    appUrl,
    idp,
    api,
    profileApi,
    gatehouse,
    config,
    close: async () => {
      await Promise.allSettled([gatehouse.close(), api.close(), profileApi.close(), idp.close()]);
    },
  };
}
