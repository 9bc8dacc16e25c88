import { Duration } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import { Construct } from 'constructs';
import { ORIGIN_VERIFY_HEADER } from './origin-verify.js';

/** Gatehouse's two listeners inside the container. */
export const PUBLIC_PORT = 8080;
export const ADMIN_PORT = 9090;

export interface GatehouseLoadBalancerProps {
  readonly vpc: ec2.IVpc;
  /** Regional ACM certificate (the stack's region) covering the origin domain name. */
  readonly certificateArn: string;
  /**
   * The region's managed prefix list `com.amazonaws.global.cloudfront.origin-facing` (pl-...). Given:
   * only CloudFront can open connections. Not given: anyone can, and the header rule refuses them.
   */
  readonly cloudFrontPrefixListId?: string;
  /** Dynamic references to the accepted origin-verify values. */
  readonly originVerifyValues: string[];
}

/**
 * The internet-facing load balancer CloudFront sends `api/*` to. HTTPS only: CloudFront talks
 * HTTPS to it, and nobody else has a reason to, so there is no port 80 listener to redirect from.
 * Its default answer is 403; only requests carrying the origin-verify header reach Gatehouse.
 */
export class GatehouseLoadBalancer extends Construct {
  readonly loadBalancer: elbv2.ApplicationLoadBalancer;
  readonly securityGroup: ec2.SecurityGroup;
  readonly listener: elbv2.ApplicationListener;
  readonly targetGroup: elbv2.ApplicationTargetGroup;

  constructor(scope: Construct, id: string, props: GatehouseLoadBalancerProps) {
    super(scope, id);
    this.securityGroup = new ec2.SecurityGroup(this, 'SecurityGroup', {
      vpc: props.vpc,
      description: 'Gatehouse load balancer: HTTPS from CloudFront',
      // Egress is opened only towards the Gatehouse tasks (see service.ts).
      allowAllOutbound: false,
    });
    const from = props.cloudFrontPrefixListId ? ec2.Peer.prefixList(props.cloudFrontPrefixListId) : ec2.Peer.anyIpv4();
    this.securityGroup.addIngressRule(from, ec2.Port.tcp(443), 'HTTPS from CloudFront');

    this.loadBalancer = new elbv2.ApplicationLoadBalancer(this, 'LoadBalancer', {
      vpc: props.vpc,
      internetFacing: true,
      vpcSubnets: { subnetType: ec2.SubnetType.PUBLIC },
      securityGroup: this.securityGroup,
      // Requests with malformed header names never reach Gatehouse.
      dropInvalidHeaderFields: true,
    });

    this.targetGroup = new elbv2.ApplicationTargetGroup(this, 'Targets', {
      vpc: props.vpc,
      targetType: elbv2.TargetType.IP,
      protocol: elbv2.ApplicationProtocol.HTTP,
      port: PUBLIC_PORT,
      // Liveness, not readiness: ECS replaces tasks the load balancer marks unhealthy, and /readyz
      // fails on every task at once while Redis or the identity provider is down, which would have
      // ECS kill healthy tasks in a loop. Gatehouse answers 503 on its own meanwhile.
      healthCheck: {
        port: String(ADMIN_PORT),
        path: '/healthz',
        healthyHttpCodes: '200',
        interval: Duration.seconds(15),
        timeout: Duration.seconds(5),
        healthyThresholdCount: 2,
        unhealthyThresholdCount: 3,
      },
      // Longer than Gatehouse's own drain (server.shutdownTimeout, 10s) so requests finish first.
      deregistrationDelay: Duration.seconds(30),
    });

    this.listener = this.loadBalancer.addListener('Https', {
      port: 443,
      protocol: elbv2.ApplicationProtocol.HTTPS,
      certificates: [elbv2.ListenerCertificate.fromArn(props.certificateArn)],
      sslPolicy: elbv2.SslPolicy.RECOMMENDED_TLS,
      // The security group above decides who may connect; CDK must not add 0.0.0.0/0 itself.
      open: false,
      defaultAction: elbv2.ListenerAction.fixedResponse(403, { contentType: 'text/plain', messageBody: 'Forbidden' }),
    });
    new elbv2.ApplicationListenerRule(this, 'FromCloudFront', {
      listener: this.listener,
      priority: 1,
      // The values are OR-ed: two of them while the secret rotates.
      conditions: [elbv2.ListenerCondition.httpHeader(ORIGIN_VERIFY_HEADER, props.originVerifyValues)],
      action: elbv2.ListenerAction.forward([this.targetGroup]),
    });
  }
}
