/**
 * @gatehouse/aws: a single-page app and Gatehouse on AWS under one domain, Gatehouse on Fargate
 * (GatehouseSpaHosting) or as a Lambda function (GatehouseServerlessHosting).
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
 *
 * new GatehouseServerlessHosting(stack, 'App', {
 *   domainName: 'app.example.com',
 *   cloudFrontCertificateArn: 'arn:aws:acm:us-east-1:...',
 *   oidc: { issuer: 'https://login.example.com', clientId: 'my-spa', clientSecret },
 *   routes: [{ path: '/orders', upstream: 'https://orders.example.com' }],
 * });
 * ```
 */
export { GatehouseSpaHosting, type GatehouseSpaHostingProps } from './gatehouse-spa-hosting.js';
export { GatehouseServerlessHosting, type GatehouseServerlessHostingProps } from './gatehouse-serverless-hosting.js';
export type { SpaSiteProps } from './spa-site.js';
export { GatehouseStack, type GatehouseStackProps } from './stack.js';
export { GatehouseServerlessStack, type GatehouseServerlessStackProps } from './serverless-stack.js';
export { readSettings, SettingsError, type AppSettings, type AppVariant } from './settings.js';
export { gatehouseConfig, SECRET_ENV, type GatehouseRoute, type OidcSettings } from './gatehouse-config.js';
export { gatehouseLambdaConfig, type GatehouseLambdaConfigInput } from './lambda-config.js';
export { GatehouseNetwork, type GatehouseNetworkProps } from './network.js';
export { StaticSiteBucket } from './static-site.js';
export { GatehouseDistribution, API_PATH_PATTERN, DEFAULT_CONTENT_SECURITY_POLICY } from './distribution.js';
export { loadBalancerOrigin, functionUrlOrigin } from './api-origins.js';
export { GatehouseLoadBalancer, ADMIN_PORT, PUBLIC_PORT } from './load-balancer.js';
export { GatehouseService, type GatehouseServiceOptions } from './service.js';
export {
  GatehouseFunction,
  GATEHOUSE_LAMBDA_ENTRY,
  type GatehouseFunctionOptions,
  type GatehouseFunctionProps,
} from './gatehouse-function.js';
export { serverlessTimeouts, type ServerlessTimeouts } from './serverless-timeouts.js';
export { containerImageFromUri, gatehouseImageFromSource } from './container-image.js';
export { SessionCache, type SessionCacheOptions } from './session-cache.js';
export {
  OriginVerifySecrets,
  ORIGIN_VERIFY_HEADER,
  type OriginVerifyProps,
  type OriginVerifySlot,
} from './origin-verify.js';
export { GatehouseDns } from './dns.js';
