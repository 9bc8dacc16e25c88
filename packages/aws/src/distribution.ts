import { fileURLToPath } from 'node:url';
import { Annotations, Duration } from 'aws-cdk-lib';
import * as acm from 'aws-cdk-lib/aws-certificatemanager';
import * as cloudfront from 'aws-cdk-lib/aws-cloudfront';
import * as origins from 'aws-cdk-lib/aws-cloudfront-origins';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';

/** The CloudFront Function's source, one file shared by the distribution and its unit test. */
export const SPA_REWRITE_FUNCTION_FILE = fileURLToPath(new URL('../functions/spa-rewrite.js', import.meta.url));

/** Gatehouse's own default page policy (security.headers.contentSecurityPolicy). */
export const DEFAULT_CONTENT_SECURITY_POLICY =
  "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'";

/** The path pattern CloudFront sends to Gatehouse: CloudFront patterns have no leading slash. */
export const API_PATH_PATTERN = 'api/*';

export interface GatehouseDistributionProps {
  readonly bucket: s3.IBucket;
  /** The domain the browser uses, e.g. app.example.com. */
  readonly domainName: string;
  /** ACM certificate in us-east-1 (CloudFront's region) covering domainName. */
  readonly certificateArn: string;
  /** Where `api/*` goes: Gatehouse's load balancer or function URL (api-origins.ts). */
  readonly apiOrigin: cloudfront.IOrigin;
  /** @default PriceClass.PRICE_CLASS_100 (North America and Europe edges) */
  readonly priceClass?: cloudfront.PriceClass;
  /** CSP of the SPA's pages, as Gatehouse would send it. @default Gatehouse's default */
  readonly contentSecurityPolicy?: string;
}

/**
 * The single entry point: `app.example.com/*` from the bucket, `app.example.com/api/*` to Gatehouse.
 * One origin for the browser, so Gatehouse's cookie can be SameSite=Strict and no CORS is needed.
 */
export class GatehouseDistribution extends Construct {
  readonly distribution: cloudfront.Distribution;
  readonly spaRewrite: cloudfront.Function;

  constructor(scope: Construct, id: string, props: GatehouseDistributionProps) {
    super(scope, id);
    this.spaRewrite = new cloudfront.Function(this, 'SpaRewrite', {
      comment: 'Deep links without a file extension get /index.html',
      runtime: cloudfront.FunctionRuntime.JS_2_0,
      code: cloudfront.FunctionCode.fromFile({ filePath: SPA_REWRITE_FUNCTION_FILE }),
    });

    this.distribution = new cloudfront.Distribution(this, 'Distribution', {
      comment: `Gatehouse: ${props.domainName}`,
      domainNames: [props.domainName],
      certificate: acm.Certificate.fromCertificateArn(this, 'Certificate', props.certificateArn),
      minimumProtocolVersion: cloudfront.SecurityPolicyProtocol.TLS_V1_2_2021,
      httpVersion: cloudfront.HttpVersion.HTTP2_AND_3,
      priceClass: props.priceClass ?? cloudfront.PriceClass.PRICE_CLASS_100,
      // The SpaRewrite function already maps "/" to /index.html; this keeps "/" from ever listing
      // the bucket even if the function is detached.
      defaultRootObject: 'index.html',
      defaultBehavior: {
        // LIST lets S3 answer 404, not 403, for a missing file; viewers cannot list the bucket:
        // every path without an extension, "/" included, is rewritten to /index.html first.
        origin: origins.S3BucketOrigin.withOriginAccessControl(props.bucket, {
          originAccessLevels: [cloudfront.AccessLevel.READ, cloudfront.AccessLevel.LIST],
        }),
        viewerProtocolPolicy: cloudfront.ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
        allowedMethods: cloudfront.AllowedMethods.ALLOW_GET_HEAD,
        compress: true,
        // Honours the objects' Cache-Control: a year for hashed /assets/, revalidation for index.html.
        cachePolicy: cloudfront.CachePolicy.CACHING_OPTIMIZED,
        responseHeadersPolicy: this.pageHeaders(props.contentSecurityPolicy ?? DEFAULT_CONTENT_SECURITY_POLICY),
        functionAssociations: [{ function: this.spaRewrite, eventType: cloudfront.FunctionEventType.VIEWER_REQUEST }],
      },
      additionalBehaviors: {
        [API_PATH_PATTERN]: {
          origin: props.apiOrigin,
          // Refused, not redirected: a redirect would turn an API POST into a GET.
          viewerProtocolPolicy: cloudfront.ViewerProtocolPolicy.HTTPS_ONLY,
          allowedMethods: cloudfront.AllowedMethods.ALLOW_ALL,
          // Every answer is per user: nothing under /api is ever cached.
          cachePolicy: cloudfront.CachePolicy.CACHING_DISABLED,
          // Cookies, query strings and headers all go to Gatehouse, except Host: CloudFront then
          // sends the origin's own name as Host and SNI, which the load balancer's certificate
          // covers and a function URL requires. Gatehouse builds every URL from publicUrl, never
          // from Host. The policy also adds CloudFront's viewer-location headers, among them
          // CloudFront-Viewer-Address, the client's address on Lambda (see lambda-config.ts).
          originRequestPolicy: cloudfront.OriginRequestPolicy.ALL_VIEWER_EXCEPT_HOST_HEADER,
          // No response headers policy: Gatehouse sets its own security headers on API answers.
          compress: false,
        },
      },
      // Deliberately no errorResponses: a distribution-wide 404 -> /index.html would also turn the
      // API's JSON 404s into HTML pages. The SpaRewrite function handles deep links instead.
    });
    Annotations.of(this.distribution).acknowledgeWarning(
      '@aws-cdk/aws-cloudfront-origins:listBucketSecurityRisk',
      'defaultRootObject is set and SpaRewrite maps every path without an extension to /index.html',
    );
  }

  /** The security headers Gatehouse puts on the SPA's pages, for pages served from the bucket. */
  private pageHeaders(contentSecurityPolicy: string): cloudfront.ResponseHeadersPolicy {
    return new cloudfront.ResponseHeadersPolicy(this, 'PageHeaders', {
      comment: 'Gatehouse page headers for the SPA',
      securityHeadersBehavior: {
        contentSecurityPolicy: { contentSecurityPolicy, override: true },
        contentTypeOptions: { override: true },
        frameOptions: { frameOption: cloudfront.HeadersFrameOption.DENY, override: true },
        referrerPolicy: { referrerPolicy: cloudfront.HeadersReferrerPolicy.NO_REFERRER, override: true },
        strictTransportSecurity: { accessControlMaxAge: Duration.days(365), includeSubdomains: true, override: true },
      },
      customHeadersBehavior: {
        customHeaders: [{ header: 'Cross-Origin-Opener-Policy', value: 'same-origin', override: true }],
      },
    });
  }
}
