import type * as cloudfront from 'aws-cdk-lib/aws-cloudfront';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { loadBalancerOrigin } from './api-origins.js';
import { gatehouseConfig, SECRET_ENV, type OidcSettings } from './gatehouse-config.js';
import { GatehouseLoadBalancer } from './load-balancer.js';
import { GatehouseNetwork, type GatehouseNetworkProps } from './network.js';
import { OriginVerifySecrets, type OriginVerifyProps } from './origin-verify.js';
import { dynamicReference, generatedSecret } from './secrets.js';
import { GatehouseService, type GatehouseServiceOptions } from './service.js';
import { SessionCache, type SessionCacheOptions } from './session-cache.js';
import { spaSite, type SpaSiteProps } from './spa-site.js';

export interface GatehouseSpaHostingProps extends SpaSiteProps {
  /**
   * The load balancer's own name, e.g. origin.app.example.com: CloudFront connects to it over HTTPS
   * and checks its certificate against this name. Point it at the load balancer (an alias record,
   * created here when `hostedZone` is given).
   */
  readonly originDomainName: string;
  /** ACM certificate in the stack's region covering originDomainName. */
  readonly loadBalancerCertificateArn: string;
  /** The OIDC client, with its secret in Secrets Manager (a plain string, or `clientSecretField` of a JSON one). */
  readonly oidc: OidcSettings & {
    readonly clientSecret: secretsmanager.ISecret;
    readonly clientSecretField?: string;
  };
  /** An existing VPC with public and private-with-egress subnets in at least two AZs. @default a new one */
  readonly vpc?: ec2.IVpc;
  /** Options of the new VPC (ignored with `vpc`). */
  readonly network?: GatehouseNetworkProps;
  /** The region's `com.amazonaws.global.cloudfront.origin-facing` prefix list id: only CloudFront may connect. */
  readonly cloudFrontPrefixListId?: string;
  /**
   * More proxies whose X-Forwarded-For Gatehouse believes, besides the VPC (the load balancer):
   * CloudFront's origin-facing ranges make Gatehouse see the viewer's address rather than the edge
   * server's, which per-IP rate limits need. See docs/deploy-aws.md.
   * @default none
   */
  readonly trustedProxies?: string[];
  readonly originVerify?: OriginVerifyProps;
  readonly service?: GatehouseServiceOptions;
  readonly cache?: SessionCacheOptions;
}

/**
 * A single-page app and Gatehouse on one domain: CloudFront serves the build from a private S3
 * bucket and sends `api/*` through an HTTPS load balancer to Gatehouse on Fargate, whose sessions
 * live in ElastiCache. Internal APIs stay private: `allowAccessTo` lets only Gatehouse reach them.
 */
export class GatehouseSpaHosting extends Construct {
  readonly vpc: ec2.IVpc;
  readonly bucket: s3.Bucket;
  readonly distribution: cloudfront.Distribution;
  readonly loadBalancer: GatehouseLoadBalancer;
  readonly service: GatehouseService;
  readonly sessionCache: SessionCache;
  readonly sessionSecret: secretsmanager.Secret;
  readonly originVerify: OriginVerifySecrets;
  /** The Gatehouse configuration given to every task (GATEHOUSE_CONFIG). */
  readonly configDocument: string;

  constructor(scope: Construct, id: string, props: GatehouseSpaHostingProps) {
    super(scope, id);
    this.vpc = props.vpc ?? new GatehouseNetwork(this, 'Network', props.network).vpc;
    this.originVerify = new OriginVerifySecrets(this, 'OriginVerify', props.originVerify);
    this.loadBalancer = new GatehouseLoadBalancer(this, 'LoadBalancer', {
      vpc: this.vpc,
      certificateArn: props.loadBalancerCertificateArn,
      cloudFrontPrefixListId: props.cloudFrontPrefixListId,
      originVerifyValues: this.originVerify.accepted.map(dynamicReference),
    });
    this.sessionCache = new SessionCache(this, 'Sessions', { vpc: this.vpc, ...props.cache });
    this.sessionSecret = generatedSecret(this, 'SessionSecret', 'Gatehouse: session.secrets (encrypts sessions)');

    this.configDocument = JSON.stringify(
      gatehouseConfig({
        domainName: props.domainName,
        trustProxy: [this.vpc.vpcCidrBlock, ...(props.trustedProxies ?? [])],
        oidc: props.oidc,
        redis: { host: this.sessionCache.host, port: this.sessionCache.port },
        originVerifyStandby: this.originVerify.standby !== undefined,
        routes: props.routes ?? [],
        overrides: props.gatehouseConfig,
      }),
    );
    const secrets: Record<string, ecs.Secret> = {
      [SECRET_ENV.oidcClientSecret]: ecs.Secret.fromSecretsManager(
        props.oidc.clientSecret,
        props.oidc.clientSecretField,
      ),
      [SECRET_ENV.sessionSecret]: ecs.Secret.fromSecretsManager(this.sessionSecret),
      [SECRET_ENV.redisPassword]: ecs.Secret.fromSecretsManager(this.sessionCache.authToken),
      [SECRET_ENV.originVerify]: ecs.Secret.fromSecretsManager(this.originVerify.active),
    };
    if (this.originVerify.standby) {
      secrets[SECRET_ENV.originVerifyStandby] = ecs.Secret.fromSecretsManager(this.originVerify.standby);
    }
    this.service = new GatehouseService(this, 'Gatehouse', {
      ...props.service,
      vpc: this.vpc,
      targetGroup: this.loadBalancer.targetGroup,
      loadBalancerSecurityGroup: this.loadBalancer.securityGroup,
      configDocument: this.configDocument,
      secrets,
    });
    this.sessionCache.connections.allowDefaultPortFrom(this.service.securityGroup, 'Gatehouse tasks');

    ({ bucket: this.bucket, distribution: this.distribution } = spaSite(
      this,
      props,
      loadBalancerOrigin(props.originDomainName, dynamicReference(this.originVerify.active)),
      { originDomainName: props.originDomainName, loadBalancer: this.loadBalancer.loadBalancer },
    ));
  }

  /** The Gatehouse tasks' security group: the only source an internal API should accept. */
  get serviceSecurityGroup(): ec2.ISecurityGroup {
    return this.service.securityGroup;
  }

  /** Lets Gatehouse, and only through this rule, reach an internal API on `port`. */
  allowAccessTo(api: ec2.IConnectable, port: number): void {
    api.connections.allowFrom(this.service.securityGroup, ec2.Port.tcp(port), 'From Gatehouse');
  }
}
