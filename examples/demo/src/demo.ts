/**
 * The whole demo as one call: the demo OpenID Provider, the internal orders and profile APIs, and
 * Gatehouse serving the SPA and the dashboard extension, wired together with fresh secrets. `npm start` runs it on fixed ports; the
 * browser tests run it on free ones.
 *
 * With the "fapi2" profile (`DEMO_PROFILE=fapi2 npm start`) the same demo runs as a high-assurance
 * client: the provider demands pushed authorization requests, private_key_jwt (against the keys
 * Gatehouse publishes), DPoP-bound tokens with nonces and PS256 ID tokens, and answers with JARM
 * by form_post; the APIs check every DPoP proof.
 */
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { createGatehouse, loadConfigText, type Gatehouse, type GatehouseConfig } from 'gatehouse';
import { parse, stringify } from 'yaml';
import { startDemoIdp, type DemoClient, type DemoIdp, type DemoIdpOptions } from './idp.js';
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

export type DemoProfile = 'standard' | 'fapi2';

const CONFIG_FILE = fileURLToPath(new URL('../gatehouse.yaml', import.meta.url));

/** What the fapi2 demo changes: the provider's demands, the client's registration, Gatehouse's oidc settings. */
function fapi2(listener: string): { idp: Partial<DemoIdpOptions>; client: Partial<DemoClient>; oidc: object } {
  const signingKey = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'jwk' });
  return {
    idp: {
      signingAlg: 'PS256',
      features: {
        pushedAuthorizationRequests: { enabled: true, requirePushedAuthorizationRequests: true },
        dPoP: { enabled: true, nonceSecret: randomBytes(32), requireNonce: () => true },
        jwtResponseModes: { enabled: true },
      },
    },
    client: {
      clientSecret: undefined,
      tokenEndpointAuthMethod: 'private_key_jwt',
      metadata: {
        jwks_uri: `${listener}/api/auth/jwks`,
        token_endpoint_auth_signing_alg: 'ES256',
        dpop_bound_access_tokens: true,
        authorization_signed_response_alg: 'PS256',
      },
    },
    oidc: {
      profile: 'fapi2',
      clientSecret: undefined,
      signingKeys: [{ key: JSON.stringify(signingKey), kid: 'demo-1' }],
      responseMode: 'form_post.jwt',
    },
  };
}

export async function startDemo(
  ports: DemoPorts,
  env: NodeJS.ProcessEnv = process.env,
  profile: DemoProfile = env.DEMO_PROFILE === 'fapi2' ? 'fapi2' : 'standard',
  options: {
    /** Where the browser opens the app, when something else (an HTTPS front) stands before Gatehouse's port. */
    publicUrl?: string;
  } = {},
): Promise<Demo> {
  // The provider calls Gatehouse itself (back-channel logout) on its own port.
  const listener = `http://localhost:${ports.app}`;
  const appUrl = options.publicUrl ?? listener;
  const clientSecret = secret();
  const highAssurance = profile === 'fapi2' ? fapi2(listener) : undefined;
  const idp = await startDemoIdp({
    port: ports.idp,
    clients: [
      {
        clientId: 'gatehouse-demo',
        clientSecret,
        redirectUris: [`${appUrl}/api/auth/callback`],
        postLogoutRedirectUris: [`${appUrl}/`],
        // Signing out at the provider ends the Gatehouse session too.
        backchannelLogoutUri: `${listener}/api/auth/backchannel-logout`,
        ...highAssurance?.client,
        // Every ID token says when the user signed in, so the step-up route can tell a recent sign-in.
        metadata: { require_auth_time: true, ...highAssurance?.client.metadata },
      },
    ],
    ...highAssurance?.idp,
  });
  const api = await startOrdersApi({ issuer: idp.issuer, audience: idp.apiResource, port: ports.api });
  const profileApi = await startProfileApi({ issuer: idp.issuer, audience: idp.apiResource, port: ports.profile });
  const document = parse(readFileSync(CONFIG_FILE, 'utf8')) as { oidc: object; publicUrl: string };
  if (highAssurance) document.oidc = { ...document.oidc, ...highAssurance.oidc };
  if (options.publicUrl) document.publicUrl = options.publicUrl;
  const config = loadConfigText(stringify(document), {
    source: CONFIG_FILE,
    baseDir: fileURLToPath(new URL('..', import.meta.url)),
    env: {
      ...env,
      DEMO_ISSUER: idp.issuer,
      DEMO_CLIENT_SECRET: clientSecret,
      DEMO_SESSION_SECRET: secret(),
      DEMO_ORDERS_API: api.url,
      DEMO_PROFILE_API: profileApi.url,
      DEMO_APP_PORT: String(ports.app),
      DEMO_ADMIN_PORT: String(ports.admin),
      // How recent a sign-in viewing an order's details needs (gatehouse.yaml, /order-details).
      DEMO_RECENT_SIGN_IN: env.DEMO_RECENT_SIGN_IN ?? '5m',
    },
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
