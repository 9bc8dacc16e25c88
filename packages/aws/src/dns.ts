import * as cloudfront from 'aws-cdk-lib/aws-cloudfront';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import * as route53 from 'aws-cdk-lib/aws-route53';
import * as targets from 'aws-cdk-lib/aws-route53-targets';
import { Construct } from 'constructs';

export interface GatehouseDnsProps {
  readonly zone: route53.IHostedZone;
  readonly domainName: string;
  readonly originDomainName: string;
  readonly distribution: cloudfront.IDistribution;
  readonly loadBalancer: elbv2.IApplicationLoadBalancer;
}

/**
 * Alias records in a hosted zone the caller already has (given by id and name: no lookup): the
 * site's name to CloudFront, and the origin's name to the load balancer, so CloudFront can reach it
 * by the name its certificate covers.
 */
export class GatehouseDns extends Construct {
  constructor(scope: Construct, id: string, props: GatehouseDnsProps) {
    super(scope, id);
    const site = route53.RecordTarget.fromAlias(new targets.CloudFrontTarget(props.distribution));
    new route53.ARecord(this, 'Site', { zone: props.zone, recordName: props.domainName, target: site });
    new route53.AaaaRecord(this, 'SiteIpv6', { zone: props.zone, recordName: props.domainName, target: site });
    new route53.ARecord(this, 'Origin', {
      zone: props.zone,
      recordName: props.originDomainName,
      target: route53.RecordTarget.fromAlias(new targets.LoadBalancerTarget(props.loadBalancer)),
    });
  }
}
