import type { RemovalPolicy } from 'aws-cdk-lib';
import type * as cloudfront from 'aws-cdk-lib/aws-cloudfront';
import type * as route53 from 'aws-cdk-lib/aws-route53';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import type { Construct } from 'constructs';
import type { GatehouseRoute } from './config-document.js';
import { GatehouseDistribution } from './distribution.js';
import { GatehouseDns, type GatehouseDnsProps } from './dns.js';
import { StaticSiteBucket } from './static-site.js';

/**
 * What both hosting constructs (GatehouseSpaHosting, GatehouseServerlessHosting) take for the site
 * itself: its name and certificate, the bucket and distribution serving it, its DNS, and the parts
 * of the Gatehouse configuration that do not depend on where Gatehouse runs.
 */
export interface SpaSiteProps {
  /** The domain the browser uses, e.g. app.example.com. */
  readonly domainName: string;
  /** ACM certificate in us-east-1 covering domainName (CloudFront only reads us-east-1). */
  readonly cloudFrontCertificateArn: string;
  /**
   * The internal APIs Gatehouse proxies under /api. Gatehouse on Lambda runs outside any VPC: there
   * they must be reachable from the internet.
   */
  readonly routes?: GatehouseRoute[];
  /**
   * Creates the alias records when given: the site's, and in the container variant the load
   * balancer's (fromHostedZoneAttributes: no lookup needed).
   */
  readonly hostedZone?: route53.IHostedZone;
  readonly priceClass?: cloudfront.PriceClass;
  /** CSP of the SPA's pages served from the bucket. @default Gatehouse's default */
  readonly contentSecurityPolicy?: string;
  readonly bucketRemovalPolicy?: RemovalPolicy;
  /** Deep-merged over the generated Gatehouse configuration, e.g. `{ session: { idleTimeout: '1h' } }`. */
  readonly gatehouseConfig?: Record<string, unknown>;
}

/**
 * The site half of either variant, made in `scope` as Site, Cdn and (with a hosted zone) Dns: the
 * private bucket, the distribution serving it and sending `api/*` to `apiOrigin`, and the site's
 * alias records, plus the origin's with `originRecord` (container variant).
 */
export function spaSite(
  scope: Construct,
  props: SpaSiteProps,
  apiOrigin: cloudfront.IOrigin,
  originRecord: Pick<GatehouseDnsProps, 'originDomainName' | 'loadBalancer'> = {},
): { bucket: s3.Bucket; distribution: cloudfront.Distribution } {
  const bucket = new StaticSiteBucket(scope, 'Site', { removalPolicy: props.bucketRemovalPolicy }).bucket;
  const distribution = new GatehouseDistribution(scope, 'Cdn', {
    bucket,
    domainName: props.domainName,
    certificateArn: props.cloudFrontCertificateArn,
    apiOrigin,
    priceClass: props.priceClass,
    contentSecurityPolicy: props.contentSecurityPolicy,
  }).distribution;

  if (props.hostedZone) {
    new GatehouseDns(scope, 'Dns', {
      zone: props.hostedZone,
      domainName: props.domainName,
      distribution,
      ...originRecord,
    });
  }
  return { bucket, distribution };
}
