/**
 * @gatehouse/aws: a single-page app and Gatehouse on AWS under one domain.
 *
 * @example
 * ```ts
 * new GatehouseSpaHosting(stack, 'App', {
 *   domainName: 'app.example.com',
 *   cloudFrontCertificateArn: 'arn:aws:acm:us-east-1:...',
 *   originDomainName: 'origin.app.example.com',
 *   loadBalancerCertificateArn: 'arn:aws:acm:eu-west-1:...',
 *   oidc: { issuer: 'https://login.example.com', clientId: 'my-spa', clientSecret },
 *   routes: [{ path: '/orders', upstream: 'http://orders.internal:8080' }],
 * });
 * ```
 */
export { GatehouseSpaHosting, type GatehouseSpaHostingProps } from './gatehouse-spa-hosting.js';
export { GatehouseStack, type GatehouseStackProps } from './stack.js';
export { readSettings, SettingsError, type AppSettings } from './settings.js';
export { gatehouseConfig, SECRET_ENV, type GatehouseRoute, type OidcSettings } from './gatehouse-config.js';
export { GatehouseNetwork, type GatehouseNetworkProps } from './network.js';
export { StaticSiteBucket } from './static-site.js';
export { GatehouseDistribution, API_PATH_PATTERN, DEFAULT_CONTENT_SECURITY_POLICY } from './distribution.js';
export { GatehouseLoadBalancer, ADMIN_PORT, PUBLIC_PORT } from './load-balancer.js';
export { GatehouseService, type GatehouseServiceOptions } from './service.js';
export { containerImageFromUri, gatehouseImageFromSource } from './container-image.js';
export { SessionCache, type SessionCacheOptions } from './session-cache.js';
export {
  OriginVerifySecrets,
  ORIGIN_VERIFY_HEADER,
  type OriginVerifyProps,
  type OriginVerifySlot,
} from './origin-verify.js';
export { GatehouseDns } from './dns.js';
