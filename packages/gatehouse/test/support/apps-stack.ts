/**
 * One Gatehouse serving three apps, with two providers and Redis, all real: a shop at
 * shop.localhost (the main app), an admin app at admin.localhost (with an extension of its own),
 * a help app under
 * shop.localhost/help; the default provider on localhost and a "partner" on 127.0.0.2 (whose
 * access tokens live a second). One session secret and one cookie name for the shop and the admin
 * app: keeping them apart must not depend on either.
 */
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { startDemoIdp, type DemoIdp } from '../../../../examples/demo/src/idp.js';
import { createGatehouse, type Gatehouse } from '../../src/index.js';
import type { GatehouseConfigInput } from '../../src/config/schema.js';
import { resolveLocalhostNames } from './hosts.js';
import { REDIS_URL, testPrefix } from './redis.js';
import { spaBuild } from './spa-build.js';
import { freePort, testClient } from './stack.js';
import { startUpstream, type TestUpstream } from './upstream.js';

export const ADMIN_TOKEN = randomBytes(24).toString('base64url');

export interface AppsStack {
  shop: string;
  admin: string;
  help: string;
  idp: DemoIdp;
  partner: DemoIdp;
  upstream: TestUpstream;
  gatehouse: Gatehouse;
  adminUrl: string;
  /** The Redis key prefix of the main app (the others' records are under `<prefix><app>/`). */
  prefix: string;
  close(): Promise<void>;
}

export async function startAppsStack(): Promise<AppsStack> {
  resolveLocalhostNames();
  const port = await freePort();
  const shop = `http://shop.localhost:${port}`;
  const admin = `http://admin.localhost:${port}`;
  const help = `${shop}/help`;
  const secrets = { shop: secret(), admin: secret(), help: secret(), partner: secret() };
  const prefix = testPrefix();
  const upstream = await startUpstream();
  const idp = await startDemoIdp({
    publicHost: 'localhost',
    clients: [
      { ...testClient(shop, secrets.shop), clientId: 'shop' },
      { ...testClient(admin, secrets.admin), clientId: 'admin' },
      { ...testClient(help, secrets.help), clientId: 'help', postLogoutRedirectUris: [`${help}/`] },
    ],
  });
  const partner = await startDemoIdp({
    host: '127.0.0.2',
    accessTokenTtlSeconds: 1,
    clients: [{ ...testClient(shop, secrets.partner), clientId: 'shop-at-partner' }],
  });
  const config: GatehouseConfigInput = {
    publicUrl: shop,
    server: { host: '127.0.0.1', port },
    admin: { host: '127.0.0.1', port: 0, token: ADMIN_TOKEN },
    log: { level: process.env.TEST_LOG_LEVEL === undefined ? 'silent' : (process.env.TEST_LOG_LEVEL as 'info') },
    oidc: {
      issuer: idp.issuer,
      clientId: 'shop',
      clientSecret: secrets.shop,
      allowInsecureHttp: true,
      scopes: ['openid', 'profile', 'email', 'offline_access'],
      providers: {
        partner: { issuer: partner.issuer, clientId: 'shop-at-partner', clientSecret: secrets.partner },
      },
    },
    session: { secrets: [secret()], store: 'redis', redis: { url: REDIS_URL, keyPrefix: prefix } },
    routes: [{ path: '/orders', upstream: `${upstream.url}/orders` }],
    apps: {
      admin: {
        publicUrl: admin,
        oidc: { clientId: 'admin', clientSecret: secrets.admin, providers: {} },
        routes: [{ path: '/reports', upstream: `${upstream.url}/reports` }],
        // Its own extension (the shop has none) and the upstream it calls.
        extensions: [fileURLToPath(new URL('../fixtures/summary-module.ts', import.meta.url))],
        upstreams: { orders: { url: upstream.url } },
      },
      help: {
        pathPrefix: '/help',
        oidc: { clientId: 'help', clientSecret: secrets.help, providers: {} },
        session: { cookieName: '__Host-help' },
        routes: [],
        static: { root: spaBuild() },
      },
    },
  };
  const gatehouse = await createGatehouse(config);
  const started = await gatehouse.listen().catch(async (error: unknown) => {
    await Promise.allSettled([gatehouse.close(), idp.close(), partner.close(), upstream.close()]);
    throw error;
  });
  return {
    shop,
    admin,
    help,
    idp,
    partner,
    upstream,
    gatehouse,
    adminUrl: started.adminUrl!,
    prefix,
    async close() {
      await gatehouse.close();
      await Promise.all([idp.close(), partner.close(), upstream.close()]);
    },
  };
}

function secret(): string {
  return randomBytes(24).toString('base64url');
}
